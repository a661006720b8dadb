"""`rtastream serve`: the RTA Stream Service's live edge over Redis, with a page that draws
live waveforms. Needs aiohttp: pip install 'rtastream[serve]'.

    from rtastream.server import make_app
    aiohttp.web.run_app(make_app("redis://localhost:6379/0"), host="127.0.0.1", port=8180)
"""

try:
    import aiohttp  # noqa: F401
except ModuleNotFoundError as exc:
    raise ModuleNotFoundError(
        "rtastream serve needs aiohttp, which is not installed: pip install 'rtastream[serve]'",
        name="aiohttp",
    ) from exc

from rtastream.server.app import SUBPROTOCOL, make_app

__all__ = ["SUBPROTOCOL", "make_app"]
