"""SparkALS refuses settings MLlib cannot express, before any Spark work."""
import pytest

from workbench.errors import ConfigError
from workbench.spark.models import SparkALS


def test_alpha_below_one_is_refused_with_the_reason():
    # implicit weighs a purchase alpha (0.5 here: below a non-purchase's 1); MLlib weighs it 1 + alpha' >= 1
    with pytest.raises(ConfigError, match="alpha=0.5 weighs a purchase below a non-purchase"):
        SparkALS(alpha=0.5).fit(None)
