"""Sparse Cholesky factorization of symmetric positive definite matrices on a pixel grid.

The DNCuts eigen-solver factorizes the shifted Laplacian of a reduced graph whose nodes are the
cells of an ``(H, W)`` grid, each joined only to cells within a few rows and columns. Such a
matrix is ordered by geometric nested dissection: the grid is cut in two by a band of rows or
columns as wide as the graph's reach (so no edge crosses it), each half is cut again, and so on
down to small rectangles; the halves are eliminated before the band that separates them. The
factorization is multifrontal: every rectangle and every band is a dense *front* holding its
own cells and the later cells they touch, factorized with LAPACK/BLAS (``potrf``, ``trsm``,
``syrk``, single precision) and passing the update of those later cells on to its parent.

On the reduced graphs of COCO images (19,200 and 38,000 nodes) it factorizes 3.3-3.5 times
faster than SuperLU's single-precision LU (minimum degree on ``A^T + A``) and solves 1.6-2.2
times faster (docs/speed.md).

Public API
----------
GridCholesky(matrix, shape) : the factor, with ``solve(b)`` for ``matrix x = b``.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import scipy.sparse as sp
from llvmlite import ir
from numba import njit, types
from numba.extending import get_cython_function_address, intrinsic

# Rectangles of at most this many cells are not cut further (dense leaf fronts).
LEAF_CELLS = 32
# Pivots factorized per LAPACK ``potrf`` call. OpenBLAS computes ``potrf`` of 256 or more
# rows differently with different thread counts; ``trsm`` and ``syrk`` give the same bits for
# any, so blocks of 128 keep the factor independent of the BLAS threads.
PANEL = 128
# Widest separator band tried: a graph reaching further than this is not a grid graph here.
MAX_REACH = 4

# LAPACK/BLAS routines (Fortran calling convention: every argument by address), called from
# the kernels through :func:`_call`; addresses are passed in as arguments so that the kernels
# stay cacheable
_SPOTRF = get_cython_function_address("scipy.linalg.cython_lapack", "spotrf")
_STRSM = get_cython_function_address("scipy.linalg.cython_blas", "strsm")
_SSYRK = get_cython_function_address("scipy.linalg.cython_blas", "ssyrk")


@intrinsic
def _call(typingctx, address, pointers):
    """Call the C function at ``address`` (no result) with the addresses in the tuple
    ``pointers`` as its arguments (all ``void *``)."""
    if not (isinstance(address, types.Integer) and isinstance(pointers, types.UniTuple)
            and isinstance(pointers.dtype, types.Integer)):
        return None
    count = pointers.count

    def codegen(context, builder, signature, args):
        address_value, pointer_values = args
        byte_pointer = ir.IntType(8).as_pointer()
        function_type = ir.FunctionType(ir.VoidType(), [byte_pointer] * count)
        function = builder.inttoptr(address_value, function_type.as_pointer())
        builder.call(function, [builder.inttoptr(builder.extract_value(pointer_values, i),
                                                 byte_pointer) for i in range(count)])
        return context.get_dummy_value()

    return types.void(address, pointers), codegen


class NotAGridGraph(ValueError):
    """The matrix's graph is not one that the nested dissection of its grid separates, or its
    single-precision factorization met a non-positive pivot."""


@lru_cache(maxsize=32)
def nested_dissection(height: int, width: int, reach: int, leaf_cells: int = LEAF_CELLS):
    """Fronts of the geometric nested dissection of an ``(height, width)`` grid.

    Parameters
    ----------
    height, width : int
        Grid size; cell ``(r, c)`` is node ``r * width + c``.
    reach : int
        Separator band width: the largest row or column distance of two joined cells.
    leaf_cells : int
        Rectangles of at most this many cells are leaves.

    Returns
    -------
    front_ptr : ndarray, int64, (n_fronts + 1,)
        Front ``f``'s cells are ``front_cells[front_ptr[f]:front_ptr[f + 1]]``.
    front_cells : ndarray, int64, (height * width,)
        The cells in elimination order (fronts in postorder, children before parents).
    parent : ndarray, int64, (n_fronts,)
        Parent front, -1 for the root.
    first_descendant : ndarray, int64, (n_fronts,)
        The first front of each front's subtree (its subtree is ``first_descendant[f] .. f``).
    """
    return _dissect(height, width, reach, leaf_cells)


@njit(cache=True, nogil=True)
def _dissect(height, width, reach, leaf_cells):
    """:func:`nested_dissection`'s kernel. A rectangle of more than ``leaf_cells`` cells whose
    longer side exceeds ``2 * reach`` is cut across that side (columns on a tie) by a band of
    ``reach`` rows or columns starting at ``(side - reach) // 2``; the two halves (first the one
    before the band) are dissected, then the band is the rectangle's front. Fronts are visited
    node, second half, first half (an explicit stack); the reverse of that order is the
    postorder. Each front's cells are row-major."""
    capacity = 2 * height * width + 1
    bounds = np.empty((capacity, 4), np.int64)  # the front's own cells: r0, r1, c0, c1
    parent_visit = np.empty(capacity, np.int64)
    stack = np.empty((capacity, 5), np.int64)  # r0, r1, c0, c1, parent's visit index
    stack[0, 0] = 0
    stack[0, 1] = height
    stack[0, 2] = 0
    stack[0, 3] = width
    stack[0, 4] = -1
    top = 1
    visits = 0
    while top > 0:
        top -= 1
        r0, r1, c0, c1, up = stack[top, 0], stack[top, 1], stack[top, 2], stack[top, 3], stack[top, 4]
        node = visits
        visits += 1
        parent_visit[node] = up
        rows = r1 - r0
        cols = c1 - c0
        if rows * cols > leaf_cells and max(rows, cols) > 2 * reach:
            if cols >= rows:
                cut = c0 + (cols - reach) // 2
                halves = ((r0, r1, c0, cut), (r0, r1, cut + reach, c1))
                band = (r0, r1, cut, cut + reach)
            else:
                cut = r0 + (rows - reach) // 2
                halves = ((r0, cut, c0, c1), (cut + reach, r1, c0, c1))
                band = (cut, cut + reach, c0, c1)
            for half in halves:  # the second half is popped (visited) first
                stack[top, 0], stack[top, 1], stack[top, 2], stack[top, 3] = half
                stack[top, 4] = node
                top += 1
        else:
            band = (r0, r1, c0, c1)
        bounds[node, 0], bounds[node, 1], bounds[node, 2], bounds[node, 3] = band
    n_fronts = visits
    parent = np.empty(n_fronts, np.int64)
    subtree = np.ones(n_fronts, np.int64)
    front_ptr = np.zeros(n_fronts + 1, np.int64)
    for f in range(n_fronts):
        node = n_fronts - 1 - f
        up = parent_visit[node]
        parent[f] = -1 if up < 0 else n_fronts - 1 - up
        size = (bounds[node, 1] - bounds[node, 0]) * (bounds[node, 3] - bounds[node, 2])
        front_ptr[f + 1] = front_ptr[f] + size
    first_descendant = np.empty(n_fronts, np.int64)
    for f in range(n_fronts):  # children come before their parent
        first_descendant[f] = f - subtree[f] + 1
        if parent[f] >= 0:
            subtree[parent[f]] += subtree[f]
    front_cells = np.empty(height * width, np.int64)
    for f in range(n_fronts):
        node = n_fronts - 1 - f
        k = front_ptr[f]
        for r in range(bounds[node, 0], bounds[node, 1]):
            for c in range(bounds[node, 2], bounds[node, 3]):
                front_cells[k] = r * width + c
                k += 1
    return front_ptr, front_cells, parent, first_descendant


@njit(cache=True, nogil=True)
def _shell_sort(values, count):
    """Sort ``values[:count]`` in place, ascending (compiles in a fraction of ``np.sort``'s
    time; the lists are a few hundred entries)."""
    gap = 1
    while gap < count // 3:
        gap = 3 * gap + 1
    while gap > 0:
        for i in range(gap, count):
            value = values[i]
            j = i
            while j >= gap and values[j - gap] > value:
                values[j] = values[j - gap]
                j -= gap
            values[j] = value
        gap //= 3


@njit(cache=True, nogil=True)
def _front_boundaries(indptr, indices, front_ptr, front_cells, parent, first_descendant):
    """Each front's boundary: the later cells its subtree's cells are joined to, in elimination
    order (the multifrontal symbolic factorization). Returns ``(bnd_ptr, bnd_cells, valid)``;
    ``valid`` is False if an edge crosses a separator (a cell joined to an earlier cell outside
    its subtree)."""
    n = front_cells.size
    n_fronts = front_ptr.size - 1
    order = np.empty(n, np.int64)
    for i in range(n):
        order[front_cells[i]] = i
    child_ptr, children = _children(parent)
    mark = np.full(n, -1, np.int64)
    capacity = 4 * n + 16
    bnd_cells = np.empty(capacity, np.int64)
    bnd_ptr = np.zeros(n_fronts + 1, np.int64)
    scratch = np.empty(n, np.int64)
    for f in range(n_fronts):
        last = front_ptr[f + 1] - 1
        subtree_start = front_ptr[first_descendant[f]]
        count = 0
        for i in range(front_ptr[f], front_ptr[f + 1]):
            cell = front_cells[i]
            for k in range(indptr[cell], indptr[cell + 1]):
                o = order[indices[k]]
                if o < subtree_start:
                    return bnd_ptr, bnd_cells[:0], False
                if o > last and mark[o] != f:
                    mark[o] = f
                    scratch[count] = o
                    count += 1
        for c in range(child_ptr[f], child_ptr[f + 1]):
            child = children[c]
            for k in range(bnd_ptr[child], bnd_ptr[child + 1]):
                o = bnd_cells[k]
                if o > last and mark[o] != f:
                    mark[o] = f
                    scratch[count] = o
                    count += 1
        start = bnd_ptr[f]
        if start + count > capacity:
            capacity = 2 * (start + count)
            grown = np.empty(capacity, np.int64)
            for k in range(start):  # (loops: slice assignments cost seconds of compilation)
                grown[k] = bnd_cells[k]
            bnd_cells = grown
        _shell_sort(scratch, count)
        for k in range(count):
            bnd_cells[start + k] = scratch[k]
        bnd_ptr[f + 1] = start + count
    # boundaries were built as elimination positions; return them as cells
    out = np.empty(bnd_ptr[-1], np.int64)
    for k in range(bnd_ptr[-1]):
        out[k] = front_cells[bnd_cells[k]]
    return bnd_ptr, out, True


@njit(cache=True, nogil=True)
def _factorize(indptr, indices, data, front_ptr, front_cells, bnd_ptr, bnd_cells, parent,
               factor_ptr, factor, stack_size, max_front, potrf, trsm, syrk):
    """Multifrontal Cholesky ``L L^T`` in float32 (``potrf``, ``trsm``, ``syrk``: the
    routines' addresses). Front ``f``'s columns of ``L``, ``[L11; L21]`` (``nv + nb`` rows,
    ``nv`` columns, ``L11`` lower triangular), go to ``factor[factor_ptr[f]:factor_ptr[f + 1]]``
    as ``U = L^T``, column-major with leading dimension ``nv`` (``U11`` upper triangular, then
    ``U12``). Returns 0, or the front whose pivot block was not positive definite, plus 1."""
    n = front_cells.size
    n_fronts = front_ptr.size - 1
    local = np.full(n, -1, np.int64)
    front = np.empty(max_front * max_front, np.float32)
    stack = np.empty(max(stack_size, 1), np.float32)
    stack_top = 0
    # update matrices wait on a stack: in postorder the children's updates of a front are the
    # topmost ones when it is assembled
    update_start = np.empty(n_fronts, np.int64)
    child_ptr, children = _children(parent)
    upper = np.array([ord("U")], np.uint8)
    left = np.array([ord("L")], np.uint8)
    trans = np.array([ord("T")], np.uint8)
    non_unit = np.array([ord("N")], np.uint8)
    one = np.array([1.0], np.float32)
    minus_one = np.array([-1.0], np.float32)
    dims = np.empty(3, np.int32)
    info = np.zeros(1, np.int32)
    for f in range(n_fronts):
        nv = front_ptr[f + 1] - front_ptr[f]
        nb = bnd_ptr[f + 1] - bnd_ptr[f]
        size = nv + nb
        fr = front[:size * size]
        for k in range(size * size):
            fr[k] = 0.0
        for a in range(nv):
            local[front_cells[front_ptr[f] + a]] = a
        for b in range(nb):
            local[bnd_cells[bnd_ptr[f] + b]] = nv + b
        # original entries: rows of the front's own cells, columns of its cells and boundary
        first_own = front_ptr[f]
        for a in range(nv):
            cell = front_cells[first_own + a]
            for k in range(indptr[cell], indptr[cell + 1]):
                j = local[indices[k]]
                if j >= a:  # row-major lower: row j >= column a
                    fr[j * size + a] += data[k]
        # extend-add the children's updates (row-major lower triangles; the boundary cells of a
        # child are in elimination order, as the front's, so lower stays lower)
        for c in range(child_ptr[f], child_ptr[f + 1]):
            child = children[c]
            cnb = bnd_ptr[child + 1] - bnd_ptr[child]
            cb0 = bnd_ptr[child]
            start = update_start[child]
            for p in range(cnb):
                row = local[bnd_cells[cb0 + p]] * size
                for q in range(p + 1):
                    fr[row + local[bnd_cells[cb0 + q]]] += stack[start + p * cnb + q]
            stack_top = min(stack_top, start)
        for a in range(nv):
            local[front_cells[first_own + a]] = -1
        for b in range(nb):
            local[bnd_cells[bnd_ptr[f] + b]] = -1
        # column-major view: the row-major lower triangle is the upper one, leading dim size;
        # right-looking, PANEL pivots at a time
        dims[2] = size
        lead = dims[2:3].ctypes.data
        for k0 in range(0, nv, PANEL):
            width = min(PANEL, nv - k0)
            rest = size - k0 - width
            dims[0] = width
            dims[1] = rest
            n_panel = dims[0:1].ctypes.data
            n_rest = dims[1:2].ctypes.data
            diagonal = fr[k0 * size + k0:].ctypes.data
            _call(potrf, (upper.ctypes.data, n_panel, diagonal, lead, info.ctypes.data))
            if info[0] != 0:
                return f + 1
            if rest > 0:
                beside = fr[(k0 + width) * size + k0:].ctypes.data
                _call(trsm, (left.ctypes.data, upper.ctypes.data, trans.ctypes.data,
                             non_unit.ctypes.data, n_panel, n_rest, one.ctypes.data, diagonal,
                             lead, beside, lead))
                _call(syrk, (upper.ctypes.data, trans.ctypes.data, n_rest, n_panel,
                             minus_one.ctypes.data, beside, lead, one.ctypes.data,
                             fr[(k0 + width) * size + k0 + width:].ctypes.data, lead))
        out = factor[factor_ptr[f]:factor_ptr[f + 1]]
        for r in range(size):
            for c in range(min(r + 1, nv)):
                out[r * nv + c] = fr[r * size + c]
        if nb > 0:
            update_start[f] = stack_top
            for p in range(nb):
                row = (nv + p) * size + nv
                for q in range(p + 1):
                    stack[stack_top + p * nb + q] = fr[row + q]
            stack_top += nb * nb
    return 0


@njit(cache=True, nogil=True)
def _children(parent):
    """Children of each front: ``children[child_ptr[f]:child_ptr[f + 1]]``, in order."""
    n_fronts = parent.size
    child_ptr = np.zeros(n_fronts + 1, np.int64)
    for f in range(n_fronts):
        if parent[f] >= 0:
            child_ptr[parent[f] + 1] += 1
    child_ptr = np.cumsum(child_ptr)
    children = np.empty(max(child_ptr[-1], 1), np.int64)
    fill = child_ptr[:-1].copy()
    for f in range(n_fronts):
        if parent[f] >= 0:
            children[fill[parent[f]]] = f
            fill[parent[f]] += 1
    return child_ptr, children


@njit(cache=True, nogil=True)
def _stack_size(parent, boundary_sizes):
    """Largest total size of the update matrices waiting on the stack, fronts in postorder."""
    child_ptr, children = _children(parent)
    top = 0
    peak = 0
    for f in range(parent.size):
        for c in range(child_ptr[f], child_ptr[f + 1]):
            top -= boundary_sizes[children[c]] ** 2
        top += boundary_sizes[f] ** 2
        peak = max(peak, top)
    return peak


@njit(cache=True, nogil=True)
def _grid_reach(indptr, indices, width):
    """Largest row or column distance between two joined cells of the grid."""
    reach = 0
    for i in range(indptr.size - 1):
        r = i // width
        c = i % width
        for k in range(indptr[i], indptr[i + 1]):
            j = indices[k]
            reach = max(reach, abs(j // width - r), abs(j % width - c))
    return reach


@njit(cache=True, nogil=True, fastmath=True)
def _dot(values, start, vector, count):
    """``values[start:start + count] . vector[:count]`` (float32, summed in SIMD lanes)."""
    total = np.float32(0.0)
    for i in range(count):
        total += values[start + i] * vector[i]
    return total


@njit(cache=True, nogil=True, fastmath=True)
def _solve(factor_ptr, factor, front_ptr, front_cells, bnd_ptr, bnd_cells, rhs):
    """Solve ``L L^T x = rhs`` in place (``rhs``: float32, (n,)), front by front with the
    column-major ``U = L^T`` blocks: ``U11^T y1 = b1``, ``b2 -= U12^T y1`` in elimination order,
    then ``U11 x1 = y1 - U12 x2`` in reverse."""
    n_fronts = front_ptr.size - 1
    work = np.empty(front_cells.size, np.float32)
    for f in range(n_fronts):
        nv = front_ptr[f + 1] - front_ptr[f]
        nb = bnd_ptr[f + 1] - bnd_ptr[f]
        base = factor_ptr[f]
        cells = front_cells[front_ptr[f]:front_ptr[f + 1]]
        boundary = bnd_cells[bnd_ptr[f]:bnd_ptr[f + 1]]
        y = work[:nv]
        for a in range(nv):
            y[a] = rhs[cells[a]]
        for j in range(nv):
            column = base + j * nv
            y[j] = (y[j] - _dot(factor, column, y, j)) / factor[column + j]
            rhs[cells[j]] = y[j]
        p = 0
        while p + 4 <= nb:  # four columns of U12 per pass over y
            column = base + (nv + p) * nv
            u0 = factor[column:column + nv]
            u1 = factor[column + nv:column + 2 * nv]
            u2 = factor[column + 2 * nv:column + 3 * nv]
            u3 = factor[column + 3 * nv:column + 4 * nv]
            s0 = s1 = s2 = s3 = np.float32(0.0)
            for a in range(nv):
                s0 += u0[a] * y[a]
                s1 += u1[a] * y[a]
                s2 += u2[a] * y[a]
                s3 += u3[a] * y[a]
            rhs[boundary[p]] -= s0
            rhs[boundary[p + 1]] -= s1
            rhs[boundary[p + 2]] -= s2
            rhs[boundary[p + 3]] -= s3
            p += 4
        for q in range(p, nb):
            rhs[boundary[q]] -= _dot(factor, base + (nv + q) * nv, y, nv)
    for f in range(n_fronts - 1, -1, -1):
        nv = front_ptr[f + 1] - front_ptr[f]
        nb = bnd_ptr[f + 1] - bnd_ptr[f]
        base = factor_ptr[f]
        cells = front_cells[front_ptr[f]:front_ptr[f + 1]]
        boundary = bnd_cells[bnd_ptr[f]:bnd_ptr[f + 1]]
        x = work[:nv]
        for a in range(nv):
            x[a] = rhs[cells[a]]
        for p in range(nb):
            solution = rhs[boundary[p]]
            column = base + (nv + p) * nv
            u = factor[column:column + nv]
            for a in range(nv):
                x[a] -= u[a] * solution
        for j in range(nv - 1, -1, -1):
            column = base + j * nv
            x[j] /= factor[column + j]
            solution = x[j]
            u = factor[column:column + j]
            for a in range(j):
                x[a] -= u[a] * solution
        for a in range(nv):
            rhs[cells[a]] = x[a]


class GridCholesky:
    """Single-precision Cholesky factor ``L L^T`` of an SPD matrix on an ``(H, W)`` grid.

    Parameters
    ----------
    matrix : sparse matrix, shape (H*W, H*W)
        Symmetric positive definite, structurally symmetric, nonzeros only between cells at most
        ``reach`` rows and columns apart (row-major cell order).
    shape : (int, int)
        The grid ``(H, W)``.
    reach : int or None
        The graph's reach (the separator width); ``None`` measures it from ``matrix``.

    Raises
    ------
    NotAGridGraph
        The reach exceeds :data:`MAX_REACH`, an edge crosses a separator, or a pivot block is
        not positive definite in single precision.
    """

    def __init__(self, matrix: sp.spmatrix, shape: tuple[int, int], reach: int | None = None):
        height, width = int(shape[0]), int(shape[1])
        csr = sp.csr_matrix(matrix)
        if csr.shape != (height * width, height * width):
            raise ValueError(f"matrix of shape {csr.shape} does not match the grid {shape}")
        indptr = csr.indptr.astype(np.int64, copy=False)
        indices = csr.indices.astype(np.int64, copy=False)
        if reach is None:
            reach = int(_grid_reach(indptr, indices, width))
        if reach > MAX_REACH:
            raise NotAGridGraph(f"the graph reaches {reach} cells, more than {MAX_REACH}")
        reach = max(reach, 1)
        front_ptr, front_cells, parent, first = nested_dissection(height, width, reach)
        bnd_ptr, bnd_cells, valid = _front_boundaries(indptr, indices, front_ptr, front_cells,
                                                      parent, first)
        if not valid:
            raise NotAGridGraph("an edge crosses a separator of the grid's nested dissection")
        nv = np.diff(front_ptr)
        nb = np.diff(bnd_ptr)
        factor_ptr = np.zeros(nv.size + 1, np.int64)
        factor_ptr[1:] = np.cumsum((nv + nb) * nv)
        stack_size = int(_stack_size(parent, nb))
        self.n = height * width
        self._front_ptr, self._front_cells = front_ptr, front_cells
        self._bnd_ptr, self._bnd_cells = bnd_ptr, bnd_cells
        self._factor_ptr = factor_ptr
        self._factor = np.empty(factor_ptr[-1], np.float32)
        failed = _factorize(indptr, indices, csr.data.astype(np.float32), front_ptr, front_cells,
                            bnd_ptr, bnd_cells, parent, factor_ptr, self._factor, stack_size,
                            int((nv + nb).max()), _SPOTRF, _STRSM, _SSYRK)
        if failed:
            raise NotAGridGraph(f"front {failed - 1}'s pivot block is not positive definite "
                                "in single precision")

    def solve(self, rhs: np.ndarray) -> np.ndarray:
        """Solve ``matrix x = rhs``.

        Parameters
        ----------
        rhs : ndarray, shape (n,), float

        Returns
        -------
        x : ndarray, shape (n,), float32
        """
        x = np.array(rhs, dtype=np.float32, copy=True).reshape(-1)
        if x.size != self.n:
            raise ValueError(f"rhs has {x.size} entries, the matrix {self.n} rows")
        _solve(self._factor_ptr, self._factor, self._front_ptr, self._front_cells,
               self._bnd_ptr, self._bnd_cells, x)
        return x

