"""The command line: thin wrappers that call core functions and print (Rich or --json)."""
