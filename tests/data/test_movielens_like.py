"""scripts/movielens_like.py --from: GroupLens' MovieLens latest-small files mapped onto the CSV contract load
through the csv source with every row accepted, and carry the ratings, titles and genres over unchanged."""
import importlib.util

import pandas as pd

from workbench.config import project_root
from workbench.data import contract
from workbench.data.load import load_shop


def _script():
    spec = importlib.util.spec_from_file_location("movielens_like", project_root() / "scripts" / "movielens_like.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_latest_small_folder_maps_onto_the_csv_contract(tmp_path):
    raw, out = tmp_path / "ml-latest-small", tmp_path / "contract"
    raw.mkdir()
    # GroupLens' layout: a title with a comma (quoted), a movie without genres, one rated by nobody
    (raw / "movies.csv").write_text(
        "movieId,title,genres\n"
        "1,Toy Story (1995),Adventure|Animation|Children\n"
        '11,"American President, The (1995)",Comedy|Drama|Romance\n'
        "114335,La cravate (1957),(no genres listed)\n"
        "7,Sabrina (1995),Comedy|Romance\n")
    (raw / "ratings.csv").write_text(
        "userId,movieId,rating,timestamp\n"
        "1,1,4.0,964982703\n1,11,3.5,964981247\n2,114335,0.5,1445714835\n2,1,5.0,1445714885\n")
    assert _script().main([str(out), "--from", str(raw)]) == 0

    shop, report = load_shop({"data": {"source": "csv", "path": str(out)}})
    assert report.rows_quarantined == 0
    assert {name: t.rows_accepted for name, t in report.tables.items() if t.rows_read} == {
        contract.CUSTOMERS: 2, contract.PRODUCTS: 4, contract.TRANSACTIONS: 4, contract.RATINGS: 4}
    products = shop.products.set_index(contract.PRODUCT_ID)
    assert products.loc["11", contract.NAME] == "American President, The (1995)"
    assert products.loc["11", contract.CATEGORY] == "Comedy"
    assert products.loc["114335", contract.CATEGORY] == "Unknown"
    assert products.loc["1", contract.DESCRIPTION] == "Toy Story (1995) Adventure Animation Children"
    ratings = shop.ratings.sort_values([contract.CUSTOMER_ID, contract.TIMESTAMP])
    assert ratings[contract.RATING].tolist() == [3.5, 4.0, 0.5, 5.0]
    # 1445714835 s after the epoch is 2015-10-24 19:27:15 UTC; the customer signed up at the first rating
    assert pd.Timestamp(ratings[contract.TIMESTAMP].iloc[2]) == pd.Timestamp("2015-10-24 19:27:15")
    signup = shop.customers.set_index(contract.CUSTOMER_ID)[contract.SIGNUP_DATE]
    assert pd.Timestamp(signup["2"]) == pd.Timestamp("2015-10-24 19:27:15")
