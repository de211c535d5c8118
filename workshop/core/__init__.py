"""Ground floor: types, errors, atomic I/O, shipped paths, the one downloader, statistics. Imports no other layer."""
