"""Customs remittance runs: the duties and taxes the marketplace collects from buyers (DDP,
logistics/data/duty_tax.toml) paid to each destination's customs once the goods have entered.

Capture credits an order's duties and taxes to customs_collected and a refund debits back its
part (payments.service), so the sum of an order's customs_collected entries is what customs is
owed for it, refunds already netted. It is due once every outbound parcel of the order is
delivered (the post's delivery event: the goods have entered) and the buyer's money is all in
(cash on delivery reported, an invoice paid: otherwise funds_held would pay out money the
marketplace never had, as escrow refuses to). Until then it waits; an order refunded whole
owes nothing. A refund after the remittance leaves the order's customs_collected a debit (what
customs holds of ours): claiming it back from customs is not done here, and no run pays it.

One transaction per destination country and currency posts the remittance (customs_collected
+x | funds_held -x, one posting per order keyed "customs_remittance:<order>", and the order's
row in customs_remitted_orders keyed by the order: its duties are remitted once, whatever
runs) and records the CustomsRemittance "posted"; only then are its lines appended to the
run's remittance file and the remittance "filed". A run first files what an earlier run posted
but did not file (it stopped between the two); those lines may then be in the earlier file
too, as a payout's bank line may (payments.payouts): the remittance id tells them apart.

The remittance file is CSV, UTF-8, one header line, one line per order, columns:
    remittance_id, country, customs_authority, order_id, s10_numbers, hs_codes, duty_minor,
    tax_minor, currency, amount_minor
`customs_authority` comes from logistics/data/customs_authorities.toml (empty where it names
none: the country code is then all we know). `s10_numbers` are the order's outbound parcels,
`hs_codes` its lines' codes as the catalog has them now, each space-separated. `amount_minor`
is what customs_collected held for the order, in minor units of `currency`: the order's, the
ledger's (the bank converts to the destination's currency at its rate). `duty_minor` and
`tax_minor` split that amount by the duty and tax the data tables assess for the order's lines
(ledger.split: they sum to it); empty when the lines cannot be assessed (a variant gone, a
destination not quoted). A remittance's amount is the sum of its lines.
"""

from __future__ import annotations

import csv
import tomllib
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path

from sqlalchemy import and_, case, func, select

from logistics import duties
from logistics.models import Shipment
from marketplace.catalog.models import Variant
from marketplace.orders.models import MerchantOrder
from marketplace.regions.base import database_now
from marketplace.regions.ids import new_id
from payments.ledger import Entry, post, split
from payments.models import CustomsRemittance, CustomsRemittedOrder, LedgerEntry

ACCOUNT = "customs_collected"
FILE_COLUMNS = ("remittance_id", "country", "customs_authority", "order_id", "s10_numbers", "hs_codes", "duty_minor",
                "tax_minor", "currency", "amount_minor")


@cache
def authorities() -> dict:
    return tomllib.loads((duties.DATA / "customs_authorities.toml").read_text(encoding="utf-8"))


def authority_of(country: str) -> str:
    """The name of the authority `country`'s duties are remitted to ("" when the data names none)."""
    return authorities().get(country, {}).get("name", "")


@dataclass(frozen=True)
class Owed:
    """What customs_collected holds for one order, and whether the next run remits it."""
    order_id: str
    merchant_id: str
    country: str
    currency: str
    amount: int
    due: bool  # delivered (before the run's `until`) and paid for


@dataclass(frozen=True)
class Remitted:
    remittance_id: str
    country: str
    currency: str
    amount: int
    orders: int


def owed(session, *, until: datetime | None = None, currency: str | None = None) -> list[Owed]:
    """Every order of this region for which customs_collected holds something (in `currency`),
    due when all its outbound parcels were delivered (the last before `until`) and its buyer's
    money is all in; the others wait."""
    collected = (select(LedgerEntry.order_id, LedgerEntry.currency, func.sum(LedgerEntry.amount).label("total"))
                 .where(LedgerEntry.account == ACCOUNT, *([LedgerEntry.currency == currency] if currency else []))
                 .group_by(LedgerEntry.order_id, LedgerEntry.currency).having(func.sum(LedgerEntry.amount) < 0).subquery())
    paid = (select(LedgerEntry.order_id).where(LedgerEntry.account == "buyer_clearing")
            .group_by(LedgerEntry.order_id).having(func.sum(LedgerEntry.amount) <= 0).subquery())
    # a delivery dated before its parcel was made is another parcel's (logistics.tracking)
    delivered = case((and_(Shipment.state == "delivered", Shipment.delivered_at >= Shipment.created_at), 1), else_=0)
    arrived = (select(Shipment.order_id, func.max(Shipment.delivered_at).label("at")).where(Shipment.kind == "outbound")
               .group_by(Shipment.order_id).having(func.count() == func.sum(delivered)).subquery())
    rows = session.execute(
        select(collected.c.order_id, collected.c.currency, collected.c.total, MerchantOrder.merchant_id,
               MerchantOrder.ship_to, arrived.c.at, paid.c.order_id)
        .join(MerchantOrder, MerchantOrder.id == collected.c.order_id)
        .outerjoin(arrived, arrived.c.order_id == collected.c.order_id)
        .outerjoin(paid, paid.c.order_id == collected.c.order_id)
        .order_by(collected.c.order_id))
    return [Owed(order_id, merchant_id, (ship_to or {}).get("country", ""), money, -int(total),
                 due=paid_id is not None and at is not None and (until is None or at < until))
            for order_id, money, total, merchant_id, ship_to, at, paid_id in rows]


def run(router, region: str, *, remittance_file: Path, until: datetime | None = None,
        progress=lambda remitted: None) -> list[Remitted]:
    """Remit in `region` what is due to each destination's customs, per country and currency;
    lines go to `remittance_file`. What an earlier run posted but did not file is filed first.
    Every remittance filed is returned and given to `progress`."""
    with router.unit_of_work(region, read_only=True) as uow:
        unfiled = uow.session.scalars(select(CustomsRemittance.id).where(CustomsRemittance.state == "posted")
                                      .order_by(CustomsRemittance.created_at, CustomsRemittance.id)).all()
        groups = sorted({(o.country, o.currency) for o in owed(uow.session, until=until) if o.due})
    made = []
    for remittance_id in unfiled:
        made.append(_file(router, region, remittance_id, remittance_file))
        progress(made[-1])
    for country, currency in groups:
        with router.unit_of_work(region) as uow:
            remittance = remit(uow.session, country=country, currency=currency, until=until)
            remittance_id = remittance.id if remittance else None
            uow.commit()
        if remittance_id:
            made.append(_file(router, region, remittance_id, remittance_file))
            progress(made[-1])
    return made


def remit(session, *, country: str, currency: str, until: datetime | None = None) -> CustomsRemittance | None:
    """Post one remittance of every order due to `country`'s customs in `currency` (None when
    none is). On PostgreSQL those orders' customs_collected entries are locked, then what is due
    is read again: a second run at the same time waits, then finds them remitted, instead of
    paying them twice."""
    def due_now() -> list[Owed]:
        return [o for o in owed(session, until=until, currency=currency) if o.due and o.country == country]

    due = due_now()
    if due and session.get_bind().dialect.name == "postgresql":
        # the orders first, as a refund locks its order before posting: one committing meanwhile
        # is in what is read again, never refunded to the buyer and paid to customs both
        session.execute(select(MerchantOrder.id).where(MerchantOrder.id.in_([o.order_id for o in due]))
                        .order_by(MerchantOrder.id).with_for_update()).all()
        session.execute(select(LedgerEntry.id).where(LedgerEntry.account == ACCOUNT,
                                                     LedgerEntry.order_id.in_([o.order_id for o in due]))
                        .with_for_update()).all()
        due = due_now()
    if not due:
        return None
    region = session.info["database"]
    remittance = CustomsRemittance(id=new_id("cus"), region=region, country=country, currency=currency,
                                   amount=sum(o.amount for o in due), state="posted", created_at=database_now(session))
    session.add(remittance)
    session.flush()
    for o in due:
        mine = {"merchant_id": o.merchant_id, "order_id": o.order_id, "currency": currency}
        post(session, key=f"customs_remittance:{o.order_id}", kind="customs_remittance", merchant_id=o.merchant_id,
             memo=remittance.id, entries=[Entry(ACCOUNT, o.amount, **mine), Entry("funds_held", -o.amount, **mine)])
        duty, tax = _duty_and_tax(session, session.get(MerchantOrder, o.order_id), o.amount)
        session.add(CustomsRemittedOrder(order_id=o.order_id, remittance_id=remittance.id, region=region,
                                         amount=o.amount, duty=duty, tax=tax))
    session.flush()
    return remittance


def _catalog_lines(session, order: MerchantOrder) -> list[tuple[Variant, dict]] | None:
    """The order's lines with their variants as the catalog has them; None if one is gone."""
    found = [(session.get(Variant, line["variant_id"]), line) for line in order.lines]
    return None if any(variant is None for variant, _ in found) else found


def _duty_and_tax(session, order: MerchantOrder, amount: int) -> tuple[int | None, int | None]:
    """`amount` split by the duty and tax assessed for the order's lines (the module's docstring)."""
    lines = _catalog_lines(session, order)
    if not lines:
        return None, None
    assessed = duties.assess(destination=order.ship_to.get("country", ""), currency=order.currency, freight=order.shipping_amount,
                             insurance=0, lines=[duties.Goods(v.hs_code, v.origin_country, line["total"]) for v, line in lines])
    if assessed.duty + assessed.tax == 0:
        return None, None
    duty, tax = split(amount, [assessed.duty, assessed.tax])
    return duty, tax


def _file(router, region: str, remittance_id: str, remittance_file: Path) -> Remitted:
    """Append a posted remittance's lines to the file and record it filed."""
    with router.unit_of_work(region, read_only=True) as uow:
        remittance = uow.session.get(CustomsRemittance, remittance_id)
        lines = file_lines(uow.session, remittance)
        made = Remitted(remittance.id, remittance.country, remittance.currency, remittance.amount, len(lines))
    _append(remittance_file, lines)
    with router.unit_of_work(region) as uow:
        filed = uow.session.get(CustomsRemittance, remittance_id)
        filed.state, filed.filed_in = "filed", str(remittance_file)[:300]
        uow.commit()
    return made


def file_lines(session, remittance: CustomsRemittance) -> list[dict]:
    """The remittance file's lines of one remittance, one per order (the module's docstring)."""
    numbers = defaultdict(list)
    for order_id, number in session.execute(
            select(Shipment.order_id, Shipment.tracking_number).where(
                Shipment.order_id.in_([o.order_id for o in remittance.orders]), Shipment.kind == "outbound")
            .order_by(Shipment.tracking_number)):
        numbers[order_id].append(number)
    lines = []
    for remitted in remittance.orders:
        catalog = _catalog_lines(session, session.get(MerchantOrder, remitted.order_id)) or []
        lines.append({"remittance_id": remittance.id, "country": remittance.country,
                      "customs_authority": authority_of(remittance.country), "order_id": remitted.order_id,
                      "s10_numbers": " ".join(numbers[remitted.order_id]),
                      "hs_codes": " ".join(dict.fromkeys(variant.hs_code for variant, _ in catalog)),
                      "duty_minor": "" if remitted.duty is None else remitted.duty,
                      "tax_minor": "" if remitted.tax is None else remitted.tax,
                      "currency": remittance.currency, "amount_minor": remitted.amount})
    return lines


def _append(path: Path, lines: list[dict]) -> None:
    new = not path.exists() or path.stat().st_size == 0
    with path.open("a", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=FILE_COLUMNS)
        if new:
            writer.writeheader()
        writer.writerows(lines)


@dataclass(frozen=True)
class Outstanding:
    """Collected for one destination in one currency and not yet remitted: due, and waiting."""
    country: str
    currency: str
    due: int
    due_orders: int
    waiting: int
    waiting_orders: int


def outstanding(session) -> list[Outstanding]:
    """Per destination and currency, what customs_collected holds in this region: what the next
    run remits, and what waits for its delivery or its buyer's money."""
    sums: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for o in owed(session):
        row = sums[(o.country, o.currency)]
        row[0 if o.due else 2] += o.amount
        row[1 if o.due else 3] += 1
    return [Outstanding(country, currency, *row) for (country, currency), row in sorted(sums.items())]
