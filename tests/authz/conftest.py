"""The matrix's world, built once per test module (each module is a ``world_per_module`` one)."""

from tests.authz.world import world

__all__ = ["world"]
