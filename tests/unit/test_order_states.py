"""The order state machine's table (marketplace/orders/states.toml) holds together; its actors are the saga, the merchant, the buyer and the postal operators' delivery events."""

from marketplace.orders import states


def test_every_move_goes_to_a_known_state_by_a_known_actor():
    known = set(states.states())
    assert {"pending_payment", "paid", "in_fulfilment", "shipped", "delivered", "completed", "cancelled",
            "refunded_partially", "refunded_fully"} == known
    for source, targets in states.table()["to"].items():
        for target, actors in targets.items():
            assert target in known, (source, target)
            assert set(actors) <= {"checkout", "merchant", "buyer", "postal", "handover"}, (source, target)


def test_cancelled_and_fully_refunded_are_the_end_and_buyers_cancel_only_before_shipment():
    assert states.table()["to"]["cancelled"] == {} and states.table()["to"]["refunded_fully"] == {}
    for state in states.states():
        assert states.allowed(state, "cancelled", "buyer") == (state in states.table()["cancellable_by_buyer"])
    assert not states.allowed("shipped", "cancelled", "merchant") and not states.allowed("paid", "shipped", "merchant")


def test_shipped_and_delivered_are_never_the_merchants_word():
    """Escrow counts from them: a parcel handed over ships, the post or the buyer delivers."""
    assert not any(states.allowed(source, "shipped", "merchant") for source in states.states())
    assert not any(states.allowed(source, "delivered", "merchant") for source in states.states())
    assert states.allowed("in_fulfilment", "shipped", "handover") and states.allowed("shipped", "delivered", "buyer")
