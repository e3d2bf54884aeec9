"""The WSGI serving both local servers (emulator, sample partner) share."""
