from webhook_app.console.throttle import LoginThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_limit_then_the_window_then_a_success_clears_the_name():
    clock = Clock()
    throttle = LoginThrottle(limit=3, window=60, clock=clock)
    for _ in range(3):
        assert throttle.wait("name:ana", "address:1") == 0
        throttle.failed("name:ana", "address:1")
        clock.now += 10
    assert throttle.wait("name:ana") == 30  # the first failure was 30 s ago
    assert throttle.wait("name:bob", "address:1") == 30  # the address too
    assert throttle.wait("name:bob", "address:2") == 0
    clock.now += 30
    assert throttle.wait("name:ana", "address:1") == 0
    throttle.failed("name:ana")
    throttle.succeeded("name:ana")
    assert throttle.wait("name:ana") == 0
