"""The `workshop` command: the entry point, the verb list and the command-line grammar on top of the job table."""
