"""Data: the contract, the synthetic shop, sources and adapters, validation. Depends on nothing else of ours."""
from workbench.data.load import fingerprint, load_shop
from workbench.data.shop import Shop

__all__ = ["Shop", "load_shop", "fingerprint"]
