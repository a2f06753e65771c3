"""Reverse-mode backward: an iterative topological order (no recursion, so a
100,000-op chain works), gradients accumulated per node, and each node's
saved arrays freed as soon as its own backward has run."""

SECOND_BACKWARD = (
    "Trying to backward through the graph a second time (or to use results of a "
    "backward whose saved arrays were already freed). Saved arrays are freed when "
    "you call .backward(); pass retain_graph=True to the first call if you need "
    "to backward through the graph again.")


def producer(tensor, version):
    """The (node, output index) that made `tensor` as it was at `version`:
    an in-place op on a tensor with history rebases it onto a new node, but
    ops that used the older value must still reach the older node."""
    if tensor._version != version and tensor._history:
        for upto, node, index in tensor._history:
            if version <= upto:
                return node, index
    return tensor._node, tensor._out_index


def _topological_order(root):
    """Nodes reachable from `root`, each after every node that consumes it.

    An iterative depth-first post-order: a node is marked when it is
    expanded (not when first pushed), so it is emitted only after everything
    below it, whichever path reached it first."""
    order, visited = [], set()
    stack = [(root, False)]
    pop, push = stack.pop, stack.append
    while stack:
        node, expanded = pop()
        if expanded:
            order.append(node)
            continue
        if node in visited:
            continue
        if node.freed:
            raise RuntimeError(SECOND_BACKWARD)
        visited.add(node)
        push((node, True))
        for parent, version in zip(node.parents, node.versions):
            child = parent._node if parent._version == version else producer(parent, version)[0]
            if child is not None and child not in visited:
                push((child, False))
    order.reverse()
    return order


def _check_versions(node):
    for t, version in zip(node.parents, node.versions):
        if t._version != version:
            raise RuntimeError(
                f"one of the tensors needed for gradient computation has been modified by an "
                f"in-place operation: the input of shape {tuple(t.shape)} to {node.name} is at "
                f"version {t._version}; expected version {version}. Make the change out of "
                f"place (x = x + y) or clone the tensor before modifying it.")


def _check_output(node):
    ref, array = node.output
    t = ref()
    # a rebased output (in-place with history) has a new array: the saved one is intact
    if t is not None and t._version != 0 and t._data is array:
        raise RuntimeError(
            f"one of the tensors needed for gradient computation has been modified by an "
            f"in-place operation: the output of shape {tuple(t.shape)} of {node.name} is at "
            f"version {t._version}; expected version 0. Make the change out of place "
            f"(x = x + y) or clone the tensor before modifying it.")


def _writeable(array):
    return getattr(array.flags, "writeable", True)  # CuPy arrays are always writeable


def _accumulate_leaf(tensor, grad, upstream):
    # A leaf's .grad must own its array: later in-place updates (clipping,
    # zero_) must not reach another tensor's grad or an upstream buffer.
    if grad.dtype != tensor._data.dtype:
        grad = grad.astype(tensor._data.dtype)
    if tensor.grad is None:
        if grad is upstream or grad.base is not None or not _writeable(grad) or not grad.ndim:
            grad = tensor._backend.xp.array(grad)  # a copy (and an array, not a NumPy scalar)
        tensor.grad = type(tensor)._make(grad, tensor._backend, None)
    else:
        existing = tensor.grad._data
        if existing.shape == grad.shape and _writeable(existing):
            existing += grad
        else:
            tensor.grad._data = existing + grad
        tensor.grad._version += 1


# Callbacks that a node's backward queued (queue_callback) and the number of
# backward passes now running: the callbacks run when the outermost pass ends.
_queued_callbacks = []
_running_passes = [0]


def queue_callback(callback):
    """Run `callback()` once the backward pass now running has finished
    (PyTorch's Variable._execution_engine.queue_callback): DistributedDataParallel
    all-reduces the finished gradients there. Only valid during a backward."""
    if not _running_passes[0]:
        raise RuntimeError("queue_callback can only be called during a backward pass")
    _queued_callbacks.append(callback)


def run_backward(tensor, grad, retain_graph=False, capture=None):
    """Propagate `grad` (an array shaped like `tensor`) to every leaf.

    With `capture` (a dict whose keys are the ids of the wanted tensors),
    the gradients of those tensors are summed into it instead and no `.grad`
    is touched (what `autograd.grad` needs); callbacks queued in such a pass
    are dropped, since no `.grad` they could act on has changed."""
    _running_passes[0] += 1
    try:
        _propagate(tensor, grad, retain_graph, capture)
    except BaseException:
        if _running_passes[0] == 1:
            _queued_callbacks.clear()
        raise
    finally:
        _running_passes[0] -= 1
    if _running_passes[0] == 0 and _queued_callbacks:
        callbacks = _queued_callbacks[:]
        _queued_callbacks.clear()
        if capture is None:
            for callback in callbacks:
                callback()


def _propagate(tensor, grad, retain_graph, capture):
    root = tensor._node
    if capture is not None:
        if id(tensor) in capture:
            _capture(capture, tensor, grad)
    elif root is None or tensor._retains_grad:  # the seed is the root's own gradient
        _accumulate_leaf(tensor, grad, grad)
    if root is None:
        return
    pending = {root: _seed(root, tensor._out_index, grad)}
    for node in _topological_order(root):
        grads = pending.pop(node, None)
        if grads is None:
            if not retain_graph:
                node.free()
            continue
        if node.__class__.saves_inputs:
            _check_versions(node)
        if node.__class__.saves_output:
            _check_output(node)
        if node.n_outputs == 1:
            upstream = grads
            input_grads = node.backward(grads)
        else:
            upstream = None
            input_grads = node.backward(*node.fill_missing(grads))
        if not isinstance(input_grads, tuple):
            input_grads = (input_grads,)
        for parent, g, needed, version in zip(node.parents, input_grads, node.needs_grad,
                                              node.versions):
            if g is None or not needed:
                continue
            child, out_index = (parent._node, parent._out_index) if parent._version == version \
                else producer(parent, version)
            if capture is not None:
                if id(parent) in capture:
                    _capture(capture, parent, g)
            elif child is None:
                _accumulate_leaf(parent, g, upstream)
            elif parent._retains_grad:
                # g also travels on to `child`: the retained .grad gets its own copy
                _accumulate_leaf(parent, g, g)
            if child is None:
                continue
            if child.n_outputs == 1:
                prev = pending.get(child)
                pending[child] = g if prev is None else prev + g
            else:
                slots = pending.get(child)
                if slots is None:
                    slots = pending[child] = [None] * child.n_outputs
                slots[out_index] = g if slots[out_index] is None else slots[out_index] + g
        if not retain_graph:
            node.free()


def _capture(capture, tensor, grad):
    prev = capture[id(tensor)]
    if grad.dtype != tensor._data.dtype:
        grad = grad.astype(tensor._data.dtype)
    capture[id(tensor)] = tensor._backend.xp.array(grad) if prev is None else prev + grad


def _seed(node, out_index, grad):
    if node.n_outputs == 1:
        return grad
    slots = [None] * node.n_outputs
    slots[out_index] = grad
    return slots
