"""Whether operations record a graph: `no_grad`, `enable_grad`, `set_grad_enabled`."""
import functools


class _State:
    enabled = True


_state = _State()


def is_grad_enabled():
    return _state.enabled


class set_grad_enabled:
    """Sets grad mode now (a plain call works as a function); as a context
    manager restores the old mode on exit; as a decorator (PyTorch allows
    `@set_grad_enabled(False)`) leaves the mode as it was and applies it
    only while the function runs."""

    def __init__(self, mode):
        self.prev = _state.enabled
        self.mode = bool(mode)
        _state.enabled = self.mode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _state.enabled = self.prev
        return False

    def __call__(self, fn):
        _state.enabled = self.prev  # decorating must not change the mode
        return _GradModeContext.__call__(self, fn)


class _GradModeContext:
    mode = True

    def __enter__(self):
        self.prev = _state.enabled
        _state.enabled = self.mode
        return self

    def __exit__(self, *exc):
        _state.enabled = self.prev
        return False

    def __call__(self, fn):
        """Use as a decorator: `@no_grad()` or `@no_grad`."""
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            prev = _state.enabled
            _state.enabled = mode
            try:
                return fn(*args, **kwargs)
            finally:
                _state.enabled = prev
        return wrapper


class no_grad(_GradModeContext):
    """Nothing computed inside records a graph (inference, optimizer steps)."""
    mode = False

    def __new__(cls, fn=None):
        self = super().__new__(cls)
        # bare decorator form: @no_grad
        return self(fn) if callable(fn) else self

    def __init__(self, fn=None):
        pass


class enable_grad(_GradModeContext):
    mode = True

    def __new__(cls, fn=None):
        self = super().__new__(cls)
        return self(fn) if callable(fn) else self

    def __init__(self, fn=None):
        pass


class inference_mode(no_grad):
    def __new__(cls, mode=True):
        self = object.__new__(cls)
        self.mode = not mode
        return self

    def __init__(self, mode=True):
        pass
