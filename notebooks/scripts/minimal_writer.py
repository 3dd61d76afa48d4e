#!/usr/bin/env python3
"""The book's writer, corrected and cut to the four calls that matter.  Usage: minimal_writer.py FIFO"""
import os
import sys

fifo = sys.argv[1]
os.mkfifo(fifo)                    # 1. create the FIFO (fails if the name exists)
fd = os.open(fifo, os.O_WRONLY)    # 2. open for writing: waits until a reader opens it
os.write(fd, f"Hello from pid [{os.getpid()}]".encode())  # 3. write bytes, not str
os.close(fd)                       # 4. close: the reader sees end of file
