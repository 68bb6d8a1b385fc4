"""Adapter for the UCI Online Retail data set (UK online gift shop, 2010-12-01 .. 2011-12-09).

One parquet file, one row per invoice line. Rows are mapped, never dropped (except by the optional
``country`` filter, which is logged): rows without a CustomerID keep a missing ``customer_id`` and
cancellations ("C" invoices) come through as returns with a negative quantity, so validation
quarantines or accepts them and its counts add up to the rows read.
"""
from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from workbench.data import contract
from workbench.data.adapters._common import check_options, dataset_file, first_seen, int_ids, most_frequent
from workbench.data.shop import Shop
from workbench.errors import ConfigError

log = logging.getLogger(__name__)

FOLDER = "online-retail"
FILE = "online_retail.parquet"

#: extra transaction columns kept from the source
COUNTRY = "country"

#: stock codes that are postage, fees, adjustments or vouchers rather than merchandise
SERVICE_CODES = frozenset({"POST", "DOT", "M", "m", "D", "C2", "BANK CHARGES", "AMAZONFEE", "CRUK", "S", "B",
                           "PADS", "gift_0001_10", "gift_0001_20", "gift_0001_30", "gift_0001_40",
                           "gift_0001_50"})
SERVICE = "service"
OTHER = "other"
#: price given to a product never sold at a positive price, so that it (and its lines) still exist
FALLBACK_PRICE = 0.01

#: product type -> words of a description naming it; the right-most word that names a type wins
#: (English head nouns come last: "T-LIGHT HOLDER" -> candle, "JAM JAR MAGNET" -> magnet)
_TYPES: dict[str, tuple[str, ...]] = {
    "bag": ("BAG", "HANDBAG", "SHOPPER", "TOTE", "PURSE", "WALLET", "SATCHEL", "RUCKSACK", "BACKPACK"),
    "mug": ("MUG", "CUP", "BEAKER", "TEACUP", "SAUCER", "TUMBLER"),
    "candle": ("CANDLE", "T-LIGHT", "TLIGHT", "TEALIGHT", "LANTERN", "INCENSE", "CANDLESTICK"),
    "light": ("LIGHT", "LAMP", "LAMPSHADE", "NIGHTLIGHT", "CHANDELIER", "TORCH"),
    "jewellery": ("NECKLACE", "NECKLAC", "BRACELET", "EARRING", "EARRINGS", "RING", "BROOCH", "PENDANT",
                  "DIAMANTE", "BANGLE", "CHARM", "JEWEL", "JEWELLERY", "HAIRCLIP", "HAIRSLIDE", "COMB"),
    "clock": ("CLOCK", "ALARM", "WATCH", "TIMER"),
    "storage": ("BOX", "BOXES", "TIN", "JAR", "BASKET", "CASE", "CABINET", "DRAWER", "CRATE", "STORAGE",
                "HAMPER", "CHEST", "TRUNK", "CADDY", "TUB", "BUCKET", "BIN", "CONTAINER", "PANTRY"),
    "tableware": ("BOWL", "PLATE", "DISH", "TRAY", "CUTLERY", "SPOON", "FORK", "KNIFE", "NAPKIN", "NAPKINS",
                  "COASTER", "GLASS", "TEAPOT", "JUG", "PLACEMAT", "CAKESTAND", "STAND", "DOILY", "DOILIES",
                  "STRAW", "STRAWS", "FLASK", "CARAFE", "GOBLET"),
    "baking": ("CAKE", "BAKING", "CASES", "CUPCAKE", "MOULD", "CUTTER", "CUTTERS", "ICING", "APRON",
               "OVEN", "GLOVE", "TOWEL", "TOWELS", "SCALES", "LADLE", "WHISK", "TEA", "COSY"),
    "decoration": ("DECORATION", "ORNAMENT", "GARLAND", "BUNTING", "WREATH", "BAUBLE", "HEART", "HEARTS",
                   "STAR", "TREE", "CHRISTMAS", "XMAS", "ADVENT", "ANGEL", "SNOWFLAKE", "BELL", "BELLS",
                   "CHIME", "MOBILE", "FLOWER", "FLOWERS", "ROSE", "ROSES", "FEATHER", "BIRD", "BIRDS",
                   "BUTTERFLY", "EGG", "EGGS", "EASTER", "BLOCK", "LETTERS", "WORD"),
    "frame": ("FRAME", "MIRROR", "PHOTO", "PICTURE", "ALBUM", "PLAQUE", "SIGN", "PRINT", "POSTER",
              "CANVAS", "ART"),
    "stationery": ("CARD", "CARDS", "NOTEBOOK", "PEN", "PENS", "PENCIL", "PENCILS", "ERASER", "RUBBER",
                   "STICKER", "STICKERS", "WRAP", "PAPER", "TAPE", "RIBBON", "RIBBONS", "TAG", "TAGS",
                   "ENVELOPE", "ENVELOPES", "JOURNAL", "CHALK", "CALENDAR", "BOOK", "DIARY", "PAD",
                   "NOTEPAD", "NOTE", "NOTES", "STATIONERY", "SHARPENER", "RULER", "CRAYONS", "BOOKMARK",
                   "CONFETTI", "INVITES", "MEMO", "POSTCARD", "GIFTWRAP", "LABELS", "STAMP", "STAMPS"),
    "textile": ("CUSHION", "COVER", "BLANKET", "THROW", "QUILT", "CURTAIN", "SCARF", "FABRIC", "FELT",
                "FELTCRAFT", "PILLOW", "BOTTLE", "HANKY", "HANDKERCHIEF", "BEANBAG", "CLOTH",
                "TABLECLOTH"),
    "toy": ("TOY", "TOYS", "GAME", "GAMES", "DOLL", "DOLLY", "PUZZLE", "JIGSAW", "DOMINOES", "SKITTLES",
            "BALL", "BALLS", "KIT", "SPINNING", "TOP", "PLAYING", "CRAYON", "TEDDY", "BEAR", "SOLDIER",
            "SOLDIERS", "MONKEY", "DINOSAUR", "ROBOT", "SPACEBOY", "MARBLES", "YOYO", "BUBBLES",
            "WARMER", "KNITTING", "CHALKBOARD", "BLACKBOARD", "PUPPET", "RATTLE", "BIB"),
    "party": ("PARTY", "BALLOON", "BALLOONS", "CRACKER", "CRACKERS", "PINATA", "BIRTHDAY", "HAT", "HATS",
              "MASK", "FAN"),
    "garden": ("GARDEN", "PLANT", "PLANTER", "POT", "POTS", "WATERING", "SEED", "SEEDS", "TROWEL",
               "BIRDHOUSE", "FEEDER", "HERB", "HERBS", "PARASOL", "UMBRELLA", "THERMOMETER", "GNOME",
               "WINDMILL", "PEG", "PEGS"),
    "hook": ("HOOK", "HOOKS", "HANGER", "HANGERS", "KEY", "KEYS", "KEYRING", "DOORKNOB", "KNOB", "KNOBS",
             "HANDLE", "RACK", "DOORSTOP", "DOORMAT", "MAT", "SHELF"),
    "bath": ("SOAP", "TOILET", "TISSUE", "TISSUES", "SPONGE", "BATH", "BATHROOM", "SHOWER", "TOOTHBRUSH",
             "LIP", "GLOSS", "NAIL", "PLASTERS", "MIRRORED", "FLANNEL", "WASHBAG", "LOTION"),
    "magnet": ("MAGNET", "MAGNETS", "FRIDGE"),
    "food": ("CHOCOLATE", "SWEETS", "SWEETIE", "JAM", "JELLY", "LOLLY", "LOLLIES", "CANDY", "BISCUIT",
             "BISCUITS", "COOKIE", "COOKIES", "HONEY", "MARMALADE"),
    SERVICE: ("POSTAGE", "CARRIAGE", "VOUCHER", "COMMISSION"),
}


def _keyword_map() -> dict[str, str]:
    """Return word -> product type (a word named by two types keeps the first)."""
    out: dict[str, str] = {}
    for kind, words in _TYPES.items():
        for w in words:
            out.setdefault(w, kind)
    return out


def categorise(codes: pd.Series, descriptions: pd.Series) -> pd.Series:
    """Return a product type per product: "service" codes, else the type of the right-most mapped word, else "other"."""
    kw = _keyword_map()
    words = (descriptions.fillna("").str.upper().str.replace(r"[^A-Z0-9\-]+", " ", regex=True)
             .str.split().explode().dropna())
    kind = words.map(kw).fillna(words.str.removesuffix("S").map(kw)).dropna()
    last = kind.groupby(level=0, sort=False).last()  # explode keeps word order: last = right-most
    out = pd.Series(OTHER, index=descriptions.index, dtype="str")
    out.loc[last.index] = last.to_numpy()
    out[codes.isin(SERVICE_CODES).to_numpy()] = SERVICE
    return out


def load(path: str | Path | None = None, country: str | None = None, **options) -> Shop:
    """Return the raw Online Retail shop (customers, products, transactions), optionally one country's rows."""
    check_options("online_retail", options)
    f = dataset_file(FOLDER, FILE, path)
    raw = pd.read_parquet(f)
    rows_read = len(raw)
    log.info("online_retail: read %d rows from %s", rows_read, f)
    if country is not None:
        keep = (raw["Country"] == country).to_numpy()
        if not keep.any():
            raise ConfigError(f"online_retail: no rows for country={country!r}; the data has "
                              f"{sorted(raw['Country'].dropna().unique())}")
        raw = raw.loc[keep].reset_index(drop=True)
        log.info("online_retail: country=%r keeps %d of %d rows (%d rows of other countries left out)",
                 country, len(raw), rows_read, rows_read - len(raw))

    tx = pd.DataFrame({
        contract.TRANSACTION_ID: raw["InvoiceNo"].astype("str"),
        contract.CUSTOMER_ID: int_ids(raw["CustomerID"]),
        contract.PRODUCT_ID: raw["StockCode"].astype("str"),
        contract.TIMESTAMP: pd.to_datetime(raw["InvoiceDate"]),
        contract.QUANTITY: raw["Quantity"],
        contract.UNIT_PRICE: raw["UnitPrice"].astype("float64"),
        COUNTRY: raw["Country"],
        contract.DESCRIPTION: raw["Description"],
    })

    # products: one per stock code, named by its most frequent real description
    desc = tx[[contract.PRODUCT_ID, contract.DESCRIPTION]].copy()
    desc[contract.DESCRIPTION] = desc[contract.DESCRIPTION].str.strip().replace({"nan": None, "": None})
    codes = pd.Index(tx[contract.PRODUCT_ID].unique(), name=contract.PRODUCT_ID)
    names = most_frequent(desc, contract.PRODUCT_ID, contract.DESCRIPTION).reindex(codes)
    prices = tx.loc[tx[contract.UNIT_PRICE] > 0].groupby(contract.PRODUCT_ID)[contract.UNIT_PRICE].median().reindex(codes)
    no_name, no_price = int(names.isna().sum()), int(prices.isna().sum())
    if no_name:
        log.info("online_retail: %d stock code(s) have no description; their name is the stock code", no_name)
    if no_price:
        log.info("online_retail: %d stock code(s) never sold at a positive price; price set to %.2f",
                 no_price, FALLBACK_PRICE)
    products = pd.DataFrame({
        contract.PRODUCT_ID: codes.astype("str"),
        contract.NAME: names.fillna(pd.Series(codes, index=codes)).to_numpy(),
        contract.CATEGORY: categorise(pd.Series(codes, index=codes), names).to_numpy(),
        contract.PRICE: prices.fillna(FALLBACK_PRICE).to_numpy(),
        contract.DESCRIPTION: names.to_numpy(),
    })

    # customers: one per customer id, from its first invoice and its most frequent country
    signup = first_seen(tx, contract.CUSTOMER_ID, contract.TIMESTAMP)
    location = most_frequent(tx, contract.CUSTOMER_ID, COUNTRY).reindex(signup.index)
    customers = pd.DataFrame({
        contract.CUSTOMER_ID: signup.index.astype("str"),
        contract.SIGNUP_DATE: signup.to_numpy(),
        contract.LOCATION: location.to_numpy(),
    })
    log.info("online_retail: %d transaction lines, %d products, %d customers (%d lines without customer id)",
             len(tx), len(products), len(customers), int(tx[contract.CUSTOMER_ID].isna().sum()))
    meta = {"source": str(f), "rows_in_file": rows_read, "rows_read": len(tx), "country": country,
            "dates_known": True, "prices_known": True}
    return Shop(customers=customers, products=products, transactions=tx, name="online_retail", meta=meta)
