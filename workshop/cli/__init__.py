"""The `workshop` command: argument parsing on top of the job table, and what each verb prints."""
