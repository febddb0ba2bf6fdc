from fraud_detection.domain.promotion import PromotionPolicy


def test_first_model_is_promoted():
    decision = PromotionPolicy().decide({"auprc": 0.5}, None)
    assert decision.promote
    assert decision.reason == "no champion yet"


def test_challenger_must_beat_champion_by_more_than_the_margin():
    policy = PromotionPolicy("auprc", min_improvement=0.01)
    assert policy.decide({"auprc": 0.82}, {"auprc": 0.80}, "v1").promote
    kept = policy.decide({"auprc": 0.805}, {"auprc": 0.80}, "v1")
    assert not kept.promote
    assert "champion kept" in kept.reason
    assert "0.8050 vs champion v1 0.8000" in kept.reason


def test_a_tie_keeps_the_champion():
    assert not PromotionPolicy().decide({"auprc": 0.8}, {"auprc": 0.8}).promote
