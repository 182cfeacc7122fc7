"""Developer and test tooling: embedded servers, local provisioning, the pytest plugin. Never in a service image."""
