"""One module per command family: a command's result in, text or JSON out."""
