"""Reviews' own settings: how long both parties have to review, checked at start."""
from __future__ import annotations

from datetime import timedelta

import pytest

from services.reviews.settings import ReviewsSettings
from shared.config import ConfigError


class TestReviewsSettings:
    def test_the_review_window_is_read(self):
        assert ReviewsSettings.from_env({"REVIEW_WINDOW": "3d"}).review_window == timedelta(days=3)

    def test_an_empty_environment_gives_the_default(self):
        assert ReviewsSettings.from_env({}) == ReviewsSettings(review_window=timedelta(days=14))

    @pytest.mark.parametrize("value", ["2 weeks", "0d"])
    def test_a_bad_value_is_refused_naming_its_variable(self, value):
        with pytest.raises(ConfigError, match="^REVIEW_WINDOW:"):
            ReviewsSettings.from_env({"REVIEW_WINDOW": value})
