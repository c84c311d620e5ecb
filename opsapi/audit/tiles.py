"""The stored hashes of every log's Merkle tree, in tiles: what inclusion proofs are read from.

A signed checkpoint keeps only each tree's compact range (:class:`signing.MerkleTree`): enough
to go on appending, not to prove where a record is. So when ``checkpoint_audit`` extends a
log's tree it also writes its hashes in tiles, as Certificate Transparency's tiled logs do
(C2SP tlog-tiles, Trillian tessera): a tile of level 0 holds 256 consecutive leaf hashes (and
the ids of their records); a tile of level L holds the roots of 256 consecutive full tiles of
level L - 1, that is the tree's nodes at height 8L. The last tile of each level, not yet full,
is stored with what it has and grows at each checkpoint until it has 256 (a row per tile: a
proof for an older, smaller tree reads its prefix). A proof then needs at most two tiles per
level (the record's and the tree's right edge): 3 levels for 16 million records, read in two
queries, with at most 255 hashes recomputed per level.

Only checkpoints write tiles, inside the checkpoint's transaction; nothing is added to the
write path of a record. Tiles are derived from the records: a tile edited in the database
cannot forge a proof (every proof is checked against the signed root, here and by the
auditor), it can only make one fail. See docs/audit.md §12.
"""

from django.db.models import Q

from opsapi.audit import signing
from opsapi.audit.models import AuditTreeTile

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT
# Tiles written per statement while a checkpoint extends a tree.
WRITE_BATCH = 200
HASH_SIZE = 32


class ProofStoreError(RuntimeError):
    """The stored tiles cannot give this proof (missing or damaged)."""


def _hashes(blob) -> list[bytes]:
    blob = bytes(blob)
    return [blob[i : i + HASH_SIZE] for i in range(0, len(blob), HASH_SIZE)]


class TileWriter:
    """Extends one log's tiles by the leaves a checkpoint appends to its tree, in order."""

    def __init__(self, log: str, edge: dict[int, AuditTreeTile] | None = None):
        self.log = log
        edge = edge or {}
        # Per level: the index of its last tile and that tile's hashes so far.
        self.index = [edge[level].index for level in sorted(edge)]
        self.rows = [_hashes(edge[level].hashes) for level in sorted(edge)]
        self.ids = list(edge[0].ids) if 0 in edge else []
        self.changed = [False] * len(self.rows)
        self.pending: list[AuditTreeTile] = []

    @classmethod
    def resume(cls, log: str, tree: signing.MerkleTree) -> "TileWriter | None":
        """A writer going on from the stored tiles of ``log``, if they hold exactly ``tree``
        (its size, and its compact range recomputed from the tiles at its right edge); None
        if they do not (a tree built before tiles were stored, or tiles damaged)."""
        edge = {
            tile.level: tile
            for tile in AuditTreeTile.objects.filter(log=log, width__lt=TILE_WIDTH).order_by()
        }
        expected = {}
        level = 0
        while tree.size >> (TILE_HEIGHT * level):
            count = tree.size >> (TILE_HEIGHT * level)
            expected[level] = (count >> TILE_HEIGHT, count % TILE_WIDTH)
            level += 1
        if not edge and not tree.size:
            return cls(log)
        found = {level: (tile.index, tile.width) for level, tile in edge.items()}
        if found != {level: place for level, place in expected.items() if place[1]}:
            return None
        # Levels whose last tile is full (or empty) have an empty row to go on with.
        for level, (index, _) in expected.items():
            if level not in edge:
                edge[level] = AuditTreeTile(log=log, level=level, index=index, hashes=b"", ids=[])
        writer = cls(log, edge)
        if writer.frontier() != tree.frontier:
            return None
        return writer

    @classmethod
    def restart(cls, log: str) -> "TileWriter":
        """A writer for ``log``'s tiles from its first leaf, the stored ones dropped (they are
        derived data: rebuilt from the records)."""
        AuditTreeTile.objects.filter(log=log).delete()
        return cls(log)

    def append(self, leaf: bytes, record_id: int) -> None:
        self.ids.append(record_id)
        self._add(0, leaf)

    def _add(self, level: int, node: bytes) -> None:
        if level == len(self.rows):
            self.index.append(0)
            self.rows.append([])
            self.changed.append(False)
        row = self.rows[level]
        row.append(node)
        self.changed[level] = True
        if len(row) < TILE_WIDTH:
            return
        self._emit(level)
        self.rows[level], self.changed[level] = [], False
        self.index[level] += 1
        if level == 0:
            self.ids = []
        self._add(level + 1, signing.perfect_root(row))

    def _emit(self, level: int) -> None:
        row = self.rows[level]
        ids = list(self.ids) if level == 0 else None
        self.pending.append(
            AuditTreeTile(
                log=self.log,
                level=level,
                index=self.index[level],
                width=len(row),
                hashes=b"".join(row),
                first_id=ids[0] if ids else None,
                ids=ids,
            )
        )
        if len(self.pending) >= WRITE_BATCH:
            self._flush()

    def close(self) -> None:
        """Write what is left: the tiles at the right edge, as far as they go."""
        for level, row in enumerate(self.rows):
            if row and self.changed[level]:
                self._emit(level)
                self.changed[level] = False
        self._flush()

    def _flush(self) -> None:
        if self.pending:
            AuditTreeTile.objects.bulk_create(
                self.pending,
                update_conflicts=True,
                unique_fields=["log", "level", "index"],
                update_fields=["width", "hashes", "first_id", "ids"],
            )
            self.pending = []

    def frontier(self) -> list[bytes]:
        """The compact range of the tree the tiles hold (:class:`signing.MerkleTree`'s):
        each level's last tile split into perfect subtrees by the bits of its width, the
        highest level first."""
        roots = []
        for row in reversed(self.rows):
            start = 0
            for bit in reversed(range(TILE_HEIGHT)):
                if len(row) & (1 << bit):
                    roots.append(signing.perfect_root(row[start : start + (1 << bit)]))
                    start += 1 << bit
        return roots


def leaf_place(log: str, record_id: int) -> tuple[int, bytes] | None:
    """(index, leaf hash) of the record ``record_id`` in ``log``'s tree, from its tile; None
    if no tile holds it (not yet in a checkpoint, or not built yet)."""
    tile = (
        AuditTreeTile.objects.filter(log=log, level=0, first_id__lte=record_id)
        .order_by("-first_id")
        .only("index", "hashes", "ids")
        .first()
    )
    if tile is None or record_id not in tile.ids:
        return None
    offset = tile.ids.index(record_id)
    return tile.index * TILE_WIDTH + offset, _hashes(tile.hashes)[offset]


def audit_path(log: str, index: int, size: int) -> list[bytes]:
    """The audit path of leaf ``index`` in ``log``'s tree of ``size`` leaves, read from the
    tiles in one query: at each level, the tile under the leaf and the one at the right edge
    (where the path's partial subtrees end)."""
    places = set()
    level = 0
    while level == 0 or (size - 1) >> (TILE_HEIGHT * level):
        shift = TILE_HEIGHT * (level + 1)
        places |= {(level, index >> shift), (level, (size - 1) >> shift)}
        level += 1
    wanted = Q()
    for level, tile in places:
        wanted |= Q(level=level, index=tile)
    rows = AuditTreeTile.objects.filter(wanted, log=log).values_list("level", "index", "hashes")
    tiles = {(level, tile): _hashes(hashes) for level, tile, hashes in rows}

    def subtree(height: int, position: int) -> bytes:
        level, below = divmod(height, TILE_HEIGHT)
        first = position << below
        tile, offset = divmod(first, TILE_WIDTH)
        row = tiles.get((level, tile), [])
        if offset + (1 << below) > len(row):
            raise ProofStoreError(
                f"{log}: the tile {level}/{tile} is missing or too short for leaf {index} of "
                f"a tree of {size}"
            )
        return signing.perfect_root(row[offset : offset + (1 << below)])

    return signing.inclusion_path(index, size, subtree)
