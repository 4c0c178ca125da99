"""Password hashing with argon2id (argon2-cffi's defaults follow RFC 9106's recommendations).

Each hash or verification costs tens of milliseconds of CPU and 64 MiB, so it runs in a small pool of its own
threads (argon2-cffi releases the GIL): the event loop keeps answering everyone else, and a burst of sign-ins
queues for the pool instead of running dozens of argon2 computations, and their memory, at once.
"""

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()

# A thread pool rather than an anyio limiter: it is not tied to one event loop, so it serves every loop
# a process runs (the tests run one per app) and bounds them all together.
_pool = ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1), thread_name_prefix="argon2")

# Verified against when the email is unknown, so a wrong email costs as long as a wrong password
# and response times do not reveal which accounts exist.
_DUMMY_HASH = _hasher.hash("not a real password")

MIN_LENGTH = 12


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


async def hash_password(password: str) -> str:
    return await asyncio.get_running_loop().run_in_executor(_pool, lambda: _hasher.hash(password))


async def verify_password(password_hash: str | None, password: str) -> bool:
    return await asyncio.get_running_loop().run_in_executor(_pool, _verify, password_hash, password)
