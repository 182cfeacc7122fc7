-- Prints one machine-readable line with wrk's totals and latency percentiles.
-- Optional env: DAYBOOK_TOKENS_FILE (one bearer token per line, rotated across requests; a line
-- "token<TAB>path" also sets that request's path, for per-user URLs, and "token<TAB>path<TAB>body"
-- that request's body too, path empty for the URL's own), DAYBOOK_METHOD / DAYBOOK_BODY (for
-- writes), DAYBOOK_CONTENT_TYPE, DAYBOOK_IDEMPOTENCY_PREFIX (each request gets its own
-- "Idempotency-Key: <prefix>-<run>-<n>").
-- Without a tokens file the request is static (formatted once), so wrk spends no Lua per request.
local method = os.getenv("DAYBOOK_METHOD") or "GET"
local body = os.getenv("DAYBOOK_BODY")
local file = os.getenv("DAYBOOK_TOKENS_FILE")
local key_prefix = os.getenv("DAYBOOK_IDEMPOTENCY_PREFIX")

wrk.method = method
if body or key_prefix then
  wrk.body = body
  wrk.headers["Content-Type"] = os.getenv("DAYBOOK_CONTENT_TYPE") or "application/json"
end

if file then
  local tokens = {}
  local paths = {}
  local bodies = {}
  local counter = 0
  local run = ""

  init = function(args)
    for line in io.lines(file) do
      if #line > 0 then
        local token, path, line_body = line:match("^([^\t]+)\t([^\t]*)\t(.+)$")
        if not token then
          token, path = line:match("^([^\t]+)\t(.+)$")
        end
        tokens[#tokens + 1] = token or line
        if path and #path > 0 then
          paths[#tokens] = path
        end
        bodies[#tokens] = line_body
      end
    end
    -- each run starts at its own place in the list
    math.randomseed(os.time())
    counter = math.random(0, #tokens - 1)
    run = tostring(os.time()) .. "-" .. tostring(math.random(0, 1000000000))
  end

  request = function()
    counter = counter + 1
    local i = (counter % #tokens) + 1
    wrk.headers["Authorization"] = "Bearer " .. tokens[i]
    if key_prefix then
      wrk.headers["Idempotency-Key"] = key_prefix .. "-" .. run .. "-" .. counter
    end
    return wrk.format(nil, paths[i], nil, bodies[i])
  end
end

done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format(
    'DAYBOOK_JSON {"requests": %d, "duration_s": %.6f, "p50_us": %d, "p95_us": %d, "p99_us": %d, '
      .. '"max_us": %d, "errors": %d, "non_2xx": %d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max, errors, summary.errors.status))
end
