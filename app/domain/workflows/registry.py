"""Which state machine runs each station mode."""

from __future__ import annotations

from collections.abc import Mapping

from app.domain.interpret import StationMode
from app.domain.shift import WorkflowFactory
from app.domain.workflows.count import CountWorkflow
from app.domain.workflows.pick import PickWorkflow
from app.domain.workflows.putaway import PutawayWorkflow
from app.domain.workflows.receive import ReceiveWorkflow
from app.domain.workflows.returns import ReturnWorkflow
from app.domain.workflows.ship import ShipWorkflow
from app.domain.workflows.transfer import TransferWorkflow

WORKFLOWS: Mapping[StationMode, WorkflowFactory] = {
    StationMode.RECEIVE: ReceiveWorkflow,
    StationMode.PUTAWAY: PutawayWorkflow,
    StationMode.PICK: PickWorkflow,
    StationMode.COUNT: CountWorkflow,
    StationMode.TRANSFER: TransferWorkflow,
    StationMode.RETURN: ReturnWorkflow,
    StationMode.SHIP: ShipWorkflow,
}
