"""Email: queued in the transaction of its cause (``mail_outbox``), sent by a worker in the users
process through a pluggable sender (SMTP, or ``.eml`` files for local development)."""
