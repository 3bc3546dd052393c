"""Request translation: an unset message means the defaults; a field set to zero is still set."""

from __future__ import annotations

import grpc
import pytest
from llmrouter.v1 import router_pb2 as pb

from router_service.domain import GenerationParams
from router_service.server.errors import RpcError
from router_service.server.translate import params_of, preferences_of
from router_service.strategy.plan import RoutingPreferences


def test_unset_messages_mean_the_defaults() -> None:
    request = pb.RouteRequest()
    assert params_of(request.params) == GenerationParams()
    assert preferences_of(request.preferences) == RoutingPreferences()


def test_a_field_set_to_zero_is_not_mistaken_for_unset() -> None:
    params = pb.GenerationParams()
    params.max_output_tokens = 0
    with pytest.raises(RpcError) as caught:
        params_of(params)
    assert caught.value.code == grpc.StatusCode.INVALID_ARGUMENT
    prefs = pb.RoutingPreferences()
    prefs.constraints.max_cost_nano_usd = 0
    assert preferences_of(prefs).constraints.max_cost_nano_usd == 0
    assert params_of(pb.GenerationParams(temperature=0.0)).temperature == 0.0
