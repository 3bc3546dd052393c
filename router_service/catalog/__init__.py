"""The model catalog (data) and exact pricing."""

from router_service.catalog.catalog import Catalog, CatalogError, ModelEntry, load_catalog
from router_service.catalog.pricing import PriceTier, format_usd

__all__ = ["Catalog", "CatalogError", "ModelEntry", "PriceTier", "format_usd", "load_catalog"]
