"""Container health check: healthy when the app (8501) or the inference server (8080) answers."""

import sys
import urllib.request

URLS = ("http://127.0.0.1:8501/_stcore/health", "http://127.0.0.1:8080/ping")

for url in URLS:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            if response.status == 200:
                sys.exit(0)
    except OSError:
        continue
sys.exit(1)
