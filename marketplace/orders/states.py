"""The order state machine, read from states.toml: the one place that says which move is
allowed and for whom. `move` is the only code that changes an order's state."""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

from sqlalchemy.orm import Session

from marketplace.errors import Conflict, PermissionDenied
from marketplace.regions.base import database_now

STATES_FILE = Path(__file__).with_name("states.toml")


@cache
def table() -> dict:
    return tomllib.loads(STATES_FILE.read_text(encoding="utf-8"))


def states() -> tuple[str, ...]:
    return tuple(table()["to"])


def allowed(from_state: str, to_state: str, actor_kind: str) -> bool:
    return actor_kind in table()["to"].get(from_state, {}).get(to_state, [])


class NotAllowed(Conflict):
    def __init__(self, order_id: str, from_state: str, to_state: str):
        super().__init__(f"Order {order_id} is {from_state.replace('_', ' ')}: it cannot become {to_state.replace('_', ' ')}.")
        self.from_state, self.to_state = from_state, to_state

    def extra(self) -> dict[str, object]:
        return {"state": self.from_state}


def move(session: Session, order, to_state: str, *, actor: str) -> bool:
    """Move `order` to `to_state` as `actor` ("merchant:…", "buyer:…", "checkout"), recording the
    transition; already there is a no-op (False), a move the table does not allow is NotAllowed
    (or PermissionDenied when only the actor is wrong)."""
    from marketplace.orders.models import OrderTransition

    if order.state == to_state:
        return False
    kind = actor.split(":", 1)[0]
    targets = table()["to"].get(order.state, {})
    if to_state not in targets:
        raise NotAllowed(order.id, order.state, to_state)
    if kind not in targets[to_state]:
        raise PermissionDenied(f"A {kind} cannot make an order {to_state.replace('_', ' ')}.")
    now = database_now(session)
    session.add(OrderTransition(order_id=order.id, region=order.region, from_state=order.state, to_state=to_state,
                                actor=actor, at=now))
    order.state, order.updated_at = to_state, now
    return True


def record_initial(session: Session, order, *, actor: str) -> None:
    from marketplace.orders.models import OrderTransition

    session.add(OrderTransition(order_id=order.id, region=order.region, from_state=None, to_state=order.state,
                                actor=actor, at=database_now(session)))


def moves_for(from_state: str, actor_kind: str) -> list[str]:
    """The states `actor_kind` may move an order in `from_state` to, in the table's order."""
    return [to for to, actors in table()["to"].get(from_state, {}).items() if actor_kind in actors]
