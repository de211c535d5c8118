"""Data sets: instruction data, the project's generated sets, grammar, CoLA, Tenny and label-word prompts."""
