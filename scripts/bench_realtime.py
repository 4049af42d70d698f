"""Realtime under load: sockets subscribed on one uvicorn process, writes at a steady rate through HTTP.

    DATABASE_URL=postgresql+psycopg2://postgres@127.0.0.1/rt_bench .venv/bin/python scripts/bench_realtime.py

It migrates the database, starts one uvicorn, and:
1. writes at --rate creates/s for --seconds with no subscriber (the baseline), then flat out for --burst s;
2. connects --sockets raw socket.io clients (engine.io v4 over a websocket, in --procs receiver processes)
   spread over --rooms entities, and reports the server's memory per idle socket;
3. writes the same way again, writes rotating over the rooms' entities, every socket timing each event from
   the commit stamp the server put in it (same clock) to its arrival: p50/p99/max commit→delivery,
   events expected vs received, and write throughput and latency against the baseline.
Bounded in count and time, loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import websockets
from bench import start_server  # this script's own folder is on sys.path

ROOT = Path(__file__).resolve().parent.parent


APP = "benchapp"


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


# --- receivers: raw engine.io/socket.io clients ---------------------------------------------------------


async def _socket(
    url: str, token: str, room: str, ready: asyncio.Event, samples: list[float], stop: asyncio.Event
) -> None:
    query = f"?EIO=4&transport=websocket&app_id={APP}&token={token}"
    async with websockets.connect(url + query, max_queue=None, ping_interval=None) as ws:
        await ws.recv()  # 0{open}
        await ws.send("40")
        await ws.recv()  # 40{sid}
        await ws.send(json.dumps(["join", room]).join(["42", ""]))
        ready.set()
        while not stop.is_set():
            try:
                frame = await asyncio.wait_for(ws.recv(), timeout=0.5)
            except TimeoutError:
                continue
            now = time.time()
            if frame == "2":
                await ws.send("3")
            elif isinstance(frame, str) and frame.startswith("42"):
                _, body = json.loads(frame[2:])
                stamp = json.loads(body["data"])["timestamp"]
                sent = dt.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
                samples.append((now - sent) * 1000)


def _receiver(url: str, token: str, rooms: list[str], conn: Any) -> None:
    async def main() -> None:
        stop = asyncio.Event()
        samples: list[float] = []
        readies = [asyncio.Event() for _ in rooms]
        tasks = [
            asyncio.create_task(_socket(url, token, room, r, samples, stop))
            for room, r in zip(rooms, readies, strict=True)
        ]
        await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), 60)
        conn.send("ready")
        loop = asyncio.get_running_loop()
        while await loop.run_in_executor(None, conn.recv) == "start":  # one round per start/stop
            samples.clear()
            await loop.run_in_executor(None, conn.recv)  # "stop"
            await asyncio.sleep(1.0)  # late arrivals still count (and show in the tail)
            conn.send(list(samples))
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run(main())


# --- the writer -------------------------------------------------------------------------------------------


async def _write(base: str, token: str, entities: list[str], rate: float | None, seconds: float) -> dict[str, float]:
    """Creates at `rate`/s (None: flat out with 8 in flight) for `seconds`; answers throughput and latency."""
    latencies: list[float] = []
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=f"{base}/api/apps/{APP}/entities", headers=headers, timeout=30) as http:
        start = time.perf_counter()
        end = start + seconds
        count = 0

        async def one(n: int) -> None:
            t0 = time.perf_counter()
            response = await http.post(f"/{entities[n % len(entities)]}", json={"title": f"w{n}", "n": n})
            response.raise_for_status()
            latencies.append((time.perf_counter() - t0) * 1000)

        if rate:
            tasks = []
            while (now := time.perf_counter()) < end:
                tasks.append(asyncio.create_task(one(count)))
                count += 1
                await asyncio.sleep(max(0.0, start + count / rate - now))
            await asyncio.gather(*tasks)
        else:

            async def worker() -> None:
                nonlocal count
                while time.perf_counter() < end:
                    count += 1
                    await one(count)

            await asyncio.gather(*(worker() for _ in range(8)))
        elapsed = time.perf_counter() - start
    return {
        "writes": len(latencies),
        "per_s": len(latencies) / elapsed,
        "p50_ms": _pct(latencies, 50),
        "p99_ms": _pct(latencies, 99),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sockets", type=int, default=500)
    parser.add_argument(
        "--rooms", type=int, default=25, help="entities the sockets spread over (fan-out = sockets/rooms)"
    )
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--burst", type=float, default=5.0, help="seconds of flat-out writing in each phase")
    parser.add_argument("--procs", type=int, default=2, help="receiver processes")
    parser.add_argument("--port", type=int, default=18790)
    args = parser.parse_args()
    if not 1 <= args.sockets <= 5000 or not 1 <= args.seconds <= 120 or not 1 <= args.rooms <= args.sockets:
        raise SystemExit("--sockets 1..5000, --seconds 1..120, --rooms 1..sockets")

    env = {**os.environ, "JOBS_INAPP": "false", "AUTO_MATCH": "false", "WHATSAPP_INAPP_SENDER": "false",
           "LOG_LEVEL": "WARNING", "REALTIME_QUEUE_LIMIT": "4096"}  # fmt: skip
    if not env.get("DATABASE_URL", "").startswith("postgresql"):
        print("note: DATABASE_URL is not PostgreSQL; the figures below are SQLite's")
    subprocess.run([sys.executable, "scripts/migrate.py"], cwd=ROOT, env=env, check=True, capture_output=True)
    port = args.port
    base = f"http://127.0.0.1:{port}"
    server = start_server(["backend.main:app"], port, env, ready_seconds=60)
    try:
        who = {"username": env.get("ADMIN_EMAIL", "admin@test.com"), "password": env.get("ADMIN_PASSWORD", "test123")}
        login = httpx.post(f"{base}/api/auth/login", data=who)
        login.raise_for_status()
        token = login.json()["access_token"]
        entities = [f"BenchRoom{i}" for i in range(args.rooms)]
        print(f"server pid {server.pid}; {args.sockets} sockets over {args.rooms} rooms; {args.rate:.0f} writes/s")

        asyncio.run(_write(base, token, entities, args.rate, 2))  # warm-up
        baseline = asyncio.run(_write(base, token, entities, args.rate, args.seconds))
        base_burst = asyncio.run(_write(base, token, entities, None, args.burst))

        rss_before = _rss_kb(server.pid)
        url = f"ws://127.0.0.1:{port}/ws-user-apps/socket.io/"
        rooms = [f"entities:{APP}:{entities[i % args.rooms]}" for i in range(args.sockets)]
        pipes, procs = [], []
        for p in range(args.procs):
            parent, child = mp.Pipe()
            proc = mp.Process(target=_receiver, args=(url, token, rooms[p :: args.procs], child), daemon=True)
            proc.start()
            pipes.append(parent)
            procs.append(proc)
        for pipe in pipes:
            if not pipe.poll(90) or pipe.recv() != "ready":
                raise SystemExit("the sockets did not all connect")
        time.sleep(2)
        rss_after = _rss_kb(server.pid)
        for pipe in pipes:
            pipe.send("start")
        loaded = asyncio.run(_write(base, token, entities, args.rate, args.seconds))
        for pipe in pipes:
            pipe.send("stop")
        samples = [s for pipe in pipes for s in pipe.recv()]
        for pipe in pipes:
            pipe.send("start")  # second round, flat out
        burst = asyncio.run(_write(base, token, entities, None, args.burst))
        for pipe in pipes:
            pipe.send("stop")
        burst_samples = [s for pipe in pipes for s in pipe.recv()]
        for pipe in pipes:
            pipe.send("exit")
        for proc in procs:
            proc.join(10)
        stats = httpx.get(f"{base}/api/admin/realtime", headers={"Authorization": f"Bearer {token}"}).json()
    finally:
        server.terminate()
        server.wait(15)

    fan_out = args.sockets / args.rooms
    print(f"memory: {rss_before / 1024:.1f} MiB before sockets, {rss_after / 1024:.1f} MiB with {args.sockets} idle "
          f"sockets joined: {(rss_after - rss_before) / args.sockets:.1f} KiB per idle socket")  # fmt: skip
    for name, write, got in (("paced", loaded, samples), ("flat out", burst, burst_samples)):
        expected = int(write["writes"] * fan_out)
        print(f"{name}: {write['writes']} writes, {write['per_s']:.0f}/s; {len(got)} of ~{expected} deliveries; "
              f"commit→delivery p50 {_pct(got, 50):.1f} ms, p99 {_pct(got, 99):.1f} ms, "
              f"max {max(got, default=float('nan')):.1f} ms")  # fmt: skip
    for name, without, with_ in (("paced", baseline, loaded), ("flat out", base_burst, burst)):
        print(f"writes {name}: without subscribers {without['per_s']:.0f}/s (p50 {without['p50_ms']:.1f} ms, "
              f"p99 {without['p99_ms']:.1f} ms); with {with_['per_s']:.0f}/s (p50 {with_['p50_ms']:.1f} ms, "
              f"p99 {with_['p99_ms']:.1f} ms): {100 * with_['per_s'] / without['per_s']:.0f} %")  # fmt: skip
    print(f"server counters: {stats}")
    if samples:
        print(f"mean commit→delivery (paced) {statistics.fmean(samples):.1f} ms")


if __name__ == "__main__":
    main()
