"""The HTTP server core both local servers (emulator, sample partner) share: asyncio, standard library only."""
