#!/usr/bin/env python3
"""The book's reader, corrected and cut to the calls that matter.  Usage: minimal_reader.py FIFO"""
import os
import sys

fd = os.open(sys.argv[1], os.O_RDONLY)  # open for reading: waits until a writer opens it
data = b""
while chunk := os.read(fd, 100):        # read until b'': end of file, the writer has closed
    data += chunk
os.close(fd)
print(f"I pid [{os.getpid()}] received a message => {data.decode()}")
