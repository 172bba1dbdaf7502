"""Named random streams derived from one run seed (common random numbers).

Two kinds of randomness, both derived from the run seed and a stream name, never from
numpy's or `random`'s global state:

* `Stream.uniform(ids, month)` gives each (child or family, month) its own uniform number.
  It is a counter-based draw: a hash of (seed, stream, id, month, salt), so a child's draw does
  not depend on how many other children were drawn for. A lever that changes who is at risk
  therefore leaves everyone else's draws alone, and scenario-minus-baseline differences are the
  lever's effect, not reshuffled noise (Starsim's idea of per-agent streams).
* `Stream.generator` is a numpy Generator seeded from (seed, stream name) for aggregate draws
  (how many referrals arrive this month) and the 2015 stock, whose sizes do not depend on the
  levers. Everything a lever can change is drawn counter-based: a provider's draws are keyed by
  its identity (kind, serial number), a place's by (provider, place number); Poisson and
  binomial counts invert one uniform each (`poisson_quantile`, `binomial_quantile`).
"""
from __future__ import annotations

import zlib

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MONTH = np.uint64(0xD1B54A32D192ED03)
_SALT = np.uint64(0x8CB92BA72F3D8DD7)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_TO_UNIT = 2.0 ** -53
_MASK64 = (1 << 64) - 1


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: a bijective avalanche on uint64 (in place, one scratch array)."""
    shifted = np.empty_like(x)
    for shift, multiplier in ((30, _M1), (27, _M2), (31, None)):
        np.right_shift(x, np.uint64(shift), out=shifted)
        x ^= shifted
        if multiplier is not None:
            x *= multiplier
    return x


def stream_key(seed: int, name: str) -> int:
    """A 64-bit key for stream `name` of run `seed`, stable across Python versions."""
    seq = np.random.SeedSequence([int(seed) & 0xFFFFFFFF, int(seed) >> 32,
                                  zlib.crc32(name.encode())])
    return int(seq.generate_state(2, dtype=np.uint64)[0])


class Stream:
    """One named random process of a run."""

    def __init__(self, seed: int, name: str):
        self.name = name
        self.key = np.uint64(stream_key(seed, name))
        self.generator = np.random.default_rng(
            np.random.SeedSequence([int(seed) & 0xFFFFFFFF, int(seed) >> 32,
                                    zlib.crc32(name.encode()), 1]))

    def uniform(self, ids: np.ndarray, month: int, salt: int = 0) -> np.ndarray:
        """One U[0,1) draw per id for this month, independent of every other id's draw."""
        # the offset in Python integers, wrapped to 64 bits as numpy's uint64 scalars would (with no
        # np.errstate: ~10 us a call, 5,000 calls a full-scale run); array arithmetic wraps silently
        offset = (int(self.key) + month * int(_MONTH) + salt * int(_SALT)) & _MASK64
        x = ids.astype(np.uint64)
        x *= _GOLDEN
        x += np.uint64(offset)
        x = _mix(x)
        x >>= np.uint64(11)
        u = x.astype(np.float64)
        u *= _TO_UNIT
        return u


class Streams:
    """The run's streams by name, created on first use."""

    def __init__(self, seed: int):
        self.seed = int(seed)
        self._streams: dict[str, Stream] = {}

    def __getitem__(self, name: str) -> Stream:
        s = self._streams.get(name)
        if s is None:
            s = self._streams[name] = Stream(self.seed, name)
        return s


def poisson_quantile(u: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """Poisson(`lam`) draws by inversion of one uniform each (counter-based draws stay paired).

    Adds the probability mass term by term until it passes `u`; a few terms for the small
    means the model uses.
    """
    lam = np.broadcast_to(np.asarray(lam, dtype=float), u.shape)
    pmf = np.exp(-lam)
    cdf = pmf.copy()
    k = np.zeros(u.shape, dtype=np.int64)
    limit = int(np.max(lam, initial=0.0) + 12 * np.sqrt(np.max(lam, initial=0.0)) + 30)
    for j in range(1, limit):
        more = u >= cdf
        if not more.any():
            break
        k += more
        pmf = pmf * lam / j
        cdf += pmf
    return k


def binomial_quantile(u: np.ndarray, n: np.ndarray, p: float) -> np.ndarray:
    """Binomial(`n`, `p`) draws by inversion of one uniform each (see `poisson_quantile`)."""
    n = np.asarray(n, dtype=np.int64)
    if p <= 0:
        return np.zeros(u.shape, dtype=np.int64)
    if p >= 1:
        return n.copy()
    pmf = (1 - p) ** n.astype(float)
    cdf = pmf.copy()
    k = np.zeros(u.shape, dtype=np.int64)
    odds = p / (1 - p)
    for j in range(1, int(n.max(initial=0)) + 1):
        more = (u >= cdf) & (j <= n)
        if not more.any():
            break
        k += more
        pmf = pmf * np.maximum(n - j + 1, 0) / j * odds
        cdf += pmf
    return k
