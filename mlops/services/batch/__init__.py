"""Bulk extraction (`python -m mlops batch`): a file of texts in, a file of production records
out, on several processes of one machine, resumable after a crash.

- `formats`: reading input rows and writing records in JSON lines, CSV or Parquet;
- `rows`: the typed rows (an input row, a reject, a chunk's outcome);
- `checkpoint`: the work folder (manifest + one atomically committed file per finished chunk);
- `locations`: local paths or `s3://` URLs (downloaded before, uploaded after);
- `runner`: the run itself (chunks, worker processes, progress bar, merge).
"""
