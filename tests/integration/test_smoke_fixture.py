from app.domain.commands import Receive
from tests.support.warehouse import Warehouse


def test_receive_lands_on_the_dock(warehouse: Warehouse) -> None:
    outcome = warehouse.run(Receive, sku="WIDGET", qty=3, to_location="DOCK-1")
    assert outcome.ok, outcome.message
    assert warehouse.on_hand("DOCK-1", "WIDGET") == 3
    assert warehouse.invariants().total == 0
