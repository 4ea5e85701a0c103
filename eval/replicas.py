"""Several ``kb serve`` replicas on one Chroma server, on this machine: the shape of a deployment past one box.

``python -m eval.replicas`` starts ``chroma run`` on a free port, ingests the corpus into it once, then starts the
replicas (``--replicas``, default 2) on consecutive ports from ``--port``, each with its own ``KB_HOME`` (its saved
index, its feedback database), all with one ``KB_SECRET`` so that an answer id from one is accepted by another.
Put any load balancer in front of the ports. It prints the URLs and runs until interrupted, then stops everything.
A ``kb ingest`` run against the same server (``KB_CHROMA_HOST``/``KB_CHROMA_PORT``) reaches every replica within
seconds: each sees the store's new content version and loads or rebuilds its index.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from eval.load import free_port, wait_ready


@dataclass
class Cluster:
    """A running Chroma server and the replicas in front of it."""

    chroma_port: int
    urls: list[str]
    homes: list[Path]
    env: dict[str, str]
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def env_for(self, replica: int) -> dict[str, str]:
        """The environment ``kb`` commands need to act as replica ``replica`` (its home, the shared server)."""
        return {**self.env, "KB_HOME": str(self.homes[replica])}


def _chroma() -> str:
    return shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")


@contextmanager
def run_replicas(
    root: Path,
    replicas: int = 2,
    corpus: Path | None = None,
    port: int | None = None,
    extra: dict[str, str] | None = None,
) -> Iterator[Cluster]:
    """Start a Chroma server under ``root``, ingest ``corpus`` (default: the shipped one) and start the replicas.

    Raises:
        RuntimeError: when the Chroma server or a replica exits before it is ready.
        TimeoutError: when one is not ready in time.

    """
    chroma_port = free_port()
    env = {
        **os.environ,
        "ANONYMIZED_TELEMETRY": "False",
        "HF_HUB_OFFLINE": "1",
        "OMP_WAIT_POLICY": "PASSIVE",
        "KB_CHROMA_HOST": "127.0.0.1",
        "KB_CHROMA_PORT": str(chroma_port),
        "KB_SECRET": os.environ.get("KB_SECRET") or secrets.token_hex(32),
        "KB_LOG_LEVEL": "warning",
        **(extra or {}),
    }
    ports = [port + i for i in range(replicas)] if port else [free_port() for _ in range(replicas)]
    cluster = Cluster(
        chroma_port, [f"http://127.0.0.1:{p}" for p in ports], [root / f"replica-{i}" for i in ports], env
    )
    chroma = subprocess.Popen(
        [_chroma(), "run", "--path", str(root / "chroma-server"), "--host", "127.0.0.1", "--port", str(chroma_port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    cluster.procs.append(chroma)
    try:
        wait_ready(f"http://127.0.0.1:{chroma_port}", timeout=60, proc=chroma, path="/api/v2/heartbeat")
        ingest = [sys.executable, "-m", "bot.cli", "ingest", *([str(corpus)] if corpus else [])]
        subprocess.run(ingest, env=cluster.env_for(0), check=True, stdout=subprocess.DEVNULL)
        for i, p in enumerate(ports):
            serve = [sys.executable, "-m", "bot.cli", "serve", "--port", str(p)]
            cluster.procs.append(
                subprocess.Popen(serve, env=cluster.env_for(i), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            )
        for url, proc in zip(cluster.urls, cluster.procs[1:], strict=True):
            wait_ready(url, proc=proc)
        yield cluster
    finally:
        for proc in reversed(cluster.procs):
            proc.terminate()
        for proc in cluster.procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


def main() -> None:
    """Start the cluster, print where it is, wait for Ctrl-C."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--replicas", type=int, default=2, help="How many kb serve processes (default 2).")
    parser.add_argument("--port", type=int, default=7861, help="Port of the first replica (default 7861).")
    parser.add_argument("--corpus", type=Path, default=None, help="Folder to ingest (default: the shipped corpus).")
    parser.add_argument("--root", type=Path, default=None, help="Folder for the server's data (default: temporary).")
    args = parser.parse_args()
    root = args.root or Path(tempfile.mkdtemp(prefix="kb-replicas-"))
    with run_replicas(root, args.replicas, args.corpus, args.port) as cluster:
        print(f"Chroma server: http://127.0.0.1:{cluster.chroma_port} (data in {root / 'chroma-server'})")
        for url, home in zip(cluster.urls, cluster.homes, strict=True):
            print(f"replica: {url}  (KB_HOME={home})")
        print(f"Ingest into all: KB_CHROMA_HOST=127.0.0.1 KB_CHROMA_PORT={cluster.chroma_port} kb ingest FOLDER")
        print("Ctrl-C stops everything.", flush=True)
        try:
            signal.pause()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
