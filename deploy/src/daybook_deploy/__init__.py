"""The ``daybook`` command: local launcher, migrations, provisioning, status."""
