"""Authoring helper: (re)compute the diagram layout (BPMNDI) of the regional .bpmn files.

The semantic part of each file (processes, lanes, tasks, flows) is written by hand
and is the source; this script only replaces the `bpmndi:BPMNDiagram` so the files
open readably in a BPMN editor (bpmn-js, SpiffArena, Camunda Modeler). Layout:
columns by longest path from the start event, one band per lane, branches stacked
below their gateway, loops routed around the boxes.

    python processes/tools/layout.py processes/*.bpmn            # rewrite in place
    python processes/tools/layout.py --svg /tmp/preview processes/*.bpmn   # also draw SVG previews

After editing a diagram in an editor there is no need to run it again: the editor
keeps its own layout. It is not part of the deployed bundle (only .bpmn, .dmn and
.json files are).
"""

from __future__ import annotations

import argparse
import html
import sys
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
}
EVENTS = {"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"}
GATEWAYS = {"exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway", "complexGateway"}
ACTIVITIES = {"task", "userTask", "manualTask", "scriptTask", "serviceTask", "sendTask", "receiveTask",
              "businessRuleTask", "callActivity", "subProcess"}
SIZES = {"event": (36, 36), "gateway": (50, 50), "activity": (100, 80)}

COLUMN = 150  # horizontal distance between columns
ROW = 115  # vertical distance between stacked nodes in a lane
LANE_TOP = 70  # centre of the first row below the lane's top edge
LANE_BOTTOM = 55  # free band under the last row (loops run here)
POOL_X, LANE_X, FIRST_X = 120, 150, 230

# Hand-made adjustments where the automatic layout is not the most readable:
# element id -> (column shift, row) ; row None keeps the computed one.
HINTS: dict[str, dict[str, tuple[int, int | None]]] = {
    # The internal delivery starts one column later, clear of the «Invio annullato» end event.
    "inlav_intervento": {"gw_responsabile": (1, None)},
}


@dataclass
class Node:
    id: str
    kind: str  # event, gateway, activity
    tag: str
    name: str
    lane: int = 0
    layer: int = 0
    row: int = 0
    attached_to: str | None = None
    x: float = 0
    y: float = 0
    boundaries: list[str] = field(default_factory=list)

    @property
    def size(self) -> tuple[int, int]:
        return SIZES[self.kind]

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        w, h = self.size
        return self.x - w / 2, self.y - h / 2, w, h

    @property
    def left(self) -> float:
        return self.x - self.size[0] / 2

    @property
    def right(self) -> float:
        return self.x + self.size[0] / 2

    @property
    def top(self) -> float:
        return self.y - self.size[1] / 2

    @property
    def bottom(self) -> float:
        return self.y + self.size[1] / 2


@dataclass
class Flow:
    id: str
    source: str
    target: str
    name: str
    back: bool = False
    points: list[tuple[float, float]] = field(default_factory=list)


def q(prefix: str, name: str) -> str:
    """Qualified XML name, e.g. q("bpmndi", "BPMNShape")."""
    return f"{{{NS[prefix]}}}{name}"


def local(tag: str) -> str:
    return tag.split("}", 1)[1] if "}" in tag else tag


class Layout:
    """Positions of one process's nodes, lanes and flows."""

    def __init__(self, process: etree._Element) -> None:
        self.process = process
        self.nodes: dict[str, Node] = {}
        self.flows: list[Flow] = []
        self.lanes: list[tuple[str, str]] = []  # (lane id, name)
        self.lane_tops: list[float] = []
        self.lane_heights: list[float] = []
        lane_of: dict[str, int] = {}
        for index, lane in enumerate(process.iterfind("bpmn:laneSet/bpmn:lane", NS)):
            self.lanes.append((lane.get("id", ""), lane.get("name", "")))
            for ref in lane.iterfind("bpmn:flowNodeRef", NS):
                lane_of[(ref.text or "").strip()] = index
        for el in process:
            if not isinstance(el.tag, str):
                continue
            tag = local(el.tag)
            kind = {**dict.fromkeys(EVENTS, "event"), **dict.fromkeys(GATEWAYS, "gateway"),
                    **dict.fromkeys(ACTIVITIES, "activity")}.get(tag)
            if kind is None:
                if tag == "sequenceFlow":
                    self.flows.append(Flow(el.get("id", ""), el.get("sourceRef", ""), el.get("targetRef", ""),
                                           el.get("name", "")))
                continue
            node = Node(el.get("id", ""), kind, tag, el.get("name", ""), attached_to=el.get("attachedToRef"))
            if self.lanes and node.id not in lane_of and node.attached_to is None:
                raise SystemExit(f"{node.id}: non è in nessuna corsia (lane)")
            node.lane = lane_of.get(node.id, 0)
            self.nodes[node.id] = node
        for node in self.nodes.values():
            if node.attached_to:
                host = self.nodes[node.attached_to]
                host.boundaries.append(node.id)
                node.lane = host.lane

    # ------------------------------------------------------------------ layering

    def _anchor(self, node_id: str) -> str:
        """Boundary events are laid out through the task they are attached to."""
        node = self.nodes[node_id]
        return node.attached_to or node_id

    def compute(self) -> None:
        outgoing: dict[str, list[Flow]] = {n: [] for n in self.nodes}
        incoming: dict[str, list[Flow]] = {n: [] for n in self.nodes}
        for flow in self.flows:
            outgoing[flow.source].append(flow)
            incoming[flow.target].append(flow)
        # Back edges: a flow that returns to a node on the current depth-first path.
        starts = [n for n, node in self.nodes.items() if not incoming[n] and not node.attached_to]
        state: dict[str, int] = {}

        def visit(node_id: str) -> None:
            state[node_id] = 1
            successors = list(outgoing[node_id])
            for boundary in self.nodes[node_id].boundaries:
                successors.extend(outgoing[boundary])
            for flow in successors:
                if state.get(flow.target) == 1:
                    flow.back = True
                elif flow.target not in state:
                    visit(flow.target)
            state[node_id] = 2

        for start in starts:
            if start not in state:
                visit(start)
        for node_id, node in self.nodes.items():
            if node_id not in state and not node.attached_to:
                visit(node_id)
        # Longest path over forward flows.
        order = self._topological(outgoing)
        hints = HINTS.get(self.process.get("id", ""), {})
        for node_id in order:
            node = self.nodes[node_id]
            for flow in incoming[node_id]:
                if flow.back:
                    continue
                source = self.nodes[self._anchor(flow.source)]
                node.layer = max(node.layer, source.layer + 1)
            node.layer += hints.get(node_id, (0, None))[0]
        self._rows(order, incoming, outgoing)
        self._coordinates()
        self._detours: dict[tuple[int, str], int] = {}
        for flow in self.flows:
            flow.points = self._route(flow)

    def _topological(self, outgoing: dict[str, list[Flow]]) -> list[str]:
        indegree = {n: 0 for n in self.nodes if not self.nodes[n].attached_to}
        for flow in self.flows:
            if not flow.back and flow.target in indegree:
                indegree[flow.target] += 1
        ready = [n for n in self.nodes if n in indegree and indegree[n] == 0]
        order: list[str] = []
        while ready:
            node_id = ready.pop(0)
            order.append(node_id)
            successors = list(outgoing[node_id])
            for boundary in self.nodes[node_id].boundaries:
                successors.extend(outgoing[boundary])
            for flow in successors:
                if flow.back or flow.target not in indegree:
                    continue
                indegree[flow.target] -= 1
                if indegree[flow.target] == 0:
                    ready.append(flow.target)
        return order

    def _rows(self, order: list[str], incoming: dict[str, list[Flow]], outgoing: dict[str, list[Flow]]) -> None:
        taken: set[tuple[int, int, int]] = set()
        placed: set[str] = set()
        hints = HINTS.get(self.process.get("id", ""), {})
        for node_id in order:
            node = self.nodes[node_id]
            preferred = 0
            for flow in incoming[node_id]:
                if flow.back:
                    continue
                source_id = flow.source
                source = self.nodes[source_id]
                anchor = self.nodes[self._anchor(source_id)]
                if anchor.id not in placed or anchor.lane != node.lane:
                    continue
                if source.attached_to:
                    preferred = anchor.row + 1
                else:
                    siblings = [f for f in outgoing[source_id]
                                if not f.back and self.nodes[f.target].lane == node.lane]
                    index = next((i for i, f in enumerate(siblings) if f.target == node_id), 0)
                    preferred = anchor.row + index
                break
            hinted = hints.get(node_id, (0, None))[1]
            if hinted is not None:
                preferred = hinted
            row = preferred
            while (node.lane, node.layer, row) in taken:
                row += 1
            node.row = row
            taken.add((node.lane, node.layer, row))
            placed.add(node_id)

    def _coordinates(self) -> None:
        lanes = max(1, len(self.lanes))
        top = 60.0
        for lane in range(lanes):
            rows = [n.row for n in self.nodes.values() if n.lane == lane and not n.attached_to] or [0]
            height = LANE_TOP + max(rows) * ROW + LANE_BOTTOM + 40
            self.lane_tops.append(top)
            self.lane_heights.append(height)
            top += height
        for node in self.nodes.values():
            if node.attached_to:
                continue
            node.x = FIRST_X + node.layer * COLUMN
            node.y = self.lane_tops[node.lane] + LANE_TOP + node.row * ROW
        for node in self.nodes.values():
            if not node.attached_to:
                continue
            host = self.nodes[node.attached_to]
            index = host.boundaries.index(node.id)
            node.x = host.left + 30 + index * 40
            node.y = host.bottom

    # ------------------------------------------------------------------ routing

    def _route(self, flow: Flow) -> list[tuple[float, float]]:
        s, t = self.nodes[flow.source], self.nodes[flow.target]
        if s.attached_to:
            start = (s.x, s.bottom)
            if t.left > s.x:
                return [start, (s.x, t.y), (t.left, t.y)]
            below = max(s.bottom, t.bottom) + 25
            return [start, (s.x, below), (t.x, below), (t.x, t.bottom)]
        if flow.back or t.x <= s.x:
            lane = max(s.lane, t.lane)
            lane_bottom = self.lane_tops[lane] + self.lane_heights[lane]
            if s.row == 0 and t.row == 0 and s.lane == t.lane and self._blocked_below(s, t):
                above = self.lane_tops[s.lane] + 12 + 10 * self._detour(s.lane, "above")
                return [(s.x, s.top), (s.x, above), (t.x, above), (t.x, t.top)]
            below = min(max(s.bottom, t.bottom) + 25 + 10 * self._detour(lane, "below"), lane_bottom - 8)
            return [(s.x, s.bottom), (s.x, below), (t.x, below), (t.x, t.bottom)]
        if abs(s.y - t.y) < 1:
            return [(s.right, s.y), (t.left, t.y)]
        if s.kind == "gateway":
            exit_y = s.top if t.y < s.y else s.bottom
            return [(s.x, exit_y), (s.x, t.y), (t.left, t.y)]
        if t.kind == "gateway":
            entry_y = t.top if s.y < t.y else t.bottom
            return [(s.right, s.y), (t.x, s.y), (t.x, entry_y)]
        middle = t.left - 25
        return [(s.right, s.y), (middle, s.y), (middle, t.y), (t.left, t.y)]

    def _detour(self, lane: int, side: str) -> int:
        """How many loops already run along this side of the lane (each gets its own track)."""
        count = self._detours.get((lane, side), 0)
        self._detours[(lane, side)] = count + 1
        return count

    def _blocked_below(self, s: Node, t: Node) -> bool:
        """Whether some node sits under the straight band between two row-0 nodes."""
        low, high = sorted((s.x, t.x))
        return any(
            n.lane == s.lane and n.row > 0 and low - 60 <= n.x <= high + 60
            for n in self.nodes.values() if not n.attached_to
        )

    # ------------------------------------------------------------------ output

    @property
    def width(self) -> float:
        right = max((n.right for n in self.nodes.values()), default=FIRST_X)
        return right + 60 - POOL_X

    @property
    def height(self) -> float:
        return sum(self.lane_heights)


def _bounds(parent: etree._Element, x: float, y: float, w: float, h: float) -> None:
    etree.SubElement(parent, q("dc", "Bounds"), x=_num(x), y=_num(y), width=_num(w), height=_num(h))


def _num(value: float) -> str:
    return str(round(value))


def write_diagram(tree: etree._ElementTree) -> list[Layout]:
    """Replace the BPMNDiagram of a definitions document; returns the layouts."""
    root = tree.getroot()
    for old in root.findall("bpmndi:BPMNDiagram", NS):
        root.remove(old)
    collaboration = root.find("bpmn:collaboration", NS)
    layouts = []
    for process in root.findall("bpmn:process", NS):
        layout = Layout(process)
        layout.compute()
        layouts.append(layout)
        pid = process.get("id", "")
        participant = None
        if collaboration is not None:
            participant = next((p for p in collaboration.findall("bpmn:participant", NS)
                                if p.get("processRef") == pid), None)
        diagram = etree.SubElement(root, q("bpmndi", "BPMNDiagram"), id=f"diagramma_{pid}")
        plane_ref = collaboration.get("id") if collaboration is not None and participant is not None else pid
        plane = etree.SubElement(diagram, q("bpmndi", "BPMNPlane"), id=f"piano_{pid}", bpmnElement=plane_ref)
        if participant is not None:
            shape = etree.SubElement(plane, q("bpmndi", "BPMNShape"), id=f"{participant.get('id')}_di",
                                     bpmnElement=participant.get("id", ""), isHorizontal="true")
            _bounds(shape, POOL_X, layout.lane_tops[0], layout.width, layout.height)
        for (lane_id, _name), top, height in zip(layout.lanes, layout.lane_tops, layout.lane_heights, strict=False):
            shape = etree.SubElement(plane, q("bpmndi", "BPMNShape"), id=f"{lane_id}_di",
                                     bpmnElement=lane_id, isHorizontal="true")
            _bounds(shape, LANE_X, top, layout.width - (LANE_X - POOL_X), height)
        for node in sorted(layout.nodes.values(), key=lambda n: n.attached_to is not None):
            attrs = {"id": f"{node.id}_di", "bpmnElement": node.id}
            if node.tag == "exclusiveGateway":
                attrs["isMarkerVisible"] = "true"
            if node.tag in ("callActivity", "subProcess"):
                attrs["isExpanded"] = "false"
            shape = etree.SubElement(plane, q("bpmndi", "BPMNShape"), **attrs)
            _bounds(shape, *node.bounds)
            if node.attached_to and node.name:
                # Two boundary events side by side: labels go outwards so they do not overlap.
                index = layout.nodes[node.attached_to].boundaries.index(node.id)
                label = etree.SubElement(shape, q("bpmndi", "BPMNLabel"))
                x = node.x - 96 if index == 0 else node.x + 6
                _bounds(label, x, node.bottom + 2, 90, 27)
        for flow in layout.flows:
            edge = etree.SubElement(plane, q("bpmndi", "BPMNEdge"), id=f"{flow.id}_di", bpmnElement=flow.id)
            for x, y in flow.points:
                etree.SubElement(edge, q("di", "waypoint"), x=_num(x), y=_num(y))
    etree.indent(tree, space="  ")
    return layouts


# --------------------------------------------------------------------------- preview


def svg_preview(layout: Layout, title: str) -> str:
    """A rough SVG drawing of a layout, to check it without an editor."""
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{_num(layout.width + 2 * POOL_X)}" '
           f'height="{_num(layout.height + 120)}" font-family="sans-serif" font-size="11">',
           '<defs><marker id="a" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
           'orient="auto"><path d="M0,0 L10,5 L0,10 z"/></marker></defs>',
           '<rect width="100%" height="100%" fill="white"/>',
           f'<text x="{POOL_X}" y="30" font-size="16">{html.escape(title)}</text>']
    for (_lid, name), top, height in zip(layout.lanes, layout.lane_tops, layout.lane_heights, strict=False):
        out.append(f'<rect x="{LANE_X}" y="{_num(top)}" width="{_num(layout.width - 30)}" height="{_num(height)}" '
                   'fill="none" stroke="#999"/>')
        out.append(f'<text x="{LANE_X + 4}" y="{_num(top + 14)}" fill="#555">{html.escape(name)}</text>')
    for flow in layout.flows:
        points = " ".join(f"{_num(x)},{_num(y)}" for x, y in flow.points)
        colour = "#c33" if flow.back else "#333"
        out.append(f'<polyline points="{points}" fill="none" stroke="{colour}" marker-end="url(#a)"/>')
        if flow.name:
            x, y = flow.points[0]
            out.append(f'<text x="{_num(x + 4)}" y="{_num(y - 4)}" fill="#06c">{html.escape(flow.name)}</text>')
    for node in layout.nodes.values():
        x, y, w, h = node.bounds
        if node.kind == "activity":
            out.append(f'<rect x="{_num(x)}" y="{_num(y)}" width="{w}" height="{h}" rx="8" '
                       'fill="#fff" stroke="#000"/>')
            words, line, lines = node.name.split(), "", []
            for word in words:
                if len(line) + len(word) > 16:
                    lines.append(line)
                    line = word
                else:
                    line = f"{line} {word}".strip()
            lines.append(line)
            for i, text in enumerate(lines):
                out.append(f'<text x="{_num(node.x)}" y="{_num(node.y - 6 * len(lines) + 12 * i + 8)}" '
                           f'text-anchor="middle">{html.escape(text)}</text>')
        elif node.kind == "gateway":
            corners = [(node.x, y), (x + w, node.y), (node.x, y + h), (x, node.y)]
            pts = " ".join(f"{_num(cx)},{_num(cy)}" for cx, cy in corners)
            out.append(f'<polygon points="{pts}" fill="#fff" stroke="#000"/>')
            mark = "+" if node.tag == "parallelGateway" else "×"
            out.append(f'<text x="{_num(node.x)}" y="{_num(node.y + 5)}" text-anchor="middle" '
                       f'font-size="16">{mark}</text>')
            if node.name:
                out.append(f'<text x="{_num(node.x)}" y="{_num(y - 6)}" text-anchor="middle">'
                           f'{html.escape(node.name)}</text>')
        else:
            width = 3 if node.tag == "endEvent" else 1
            out.append(f'<circle cx="{_num(node.x)}" cy="{_num(node.y)}" r="18" fill="#fff" stroke="#000" '
                       f'stroke-width="{width}"/>')
            if node.name:
                out.append(f'<text x="{_num(node.x)}" y="{_num(node.y + 32)}" text-anchor="middle">'
                           f'{html.escape(node.name)}</text>')
    out.append("</svg>")
    return "\n".join(out)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--svg", type=Path, help="cartella in cui scrivere un'anteprima SVG per file")
    args = parser.parse_args(argv)
    for path in args.files:
        tree = etree.parse(str(path), etree.XMLParser(remove_blank_text=False))
        layouts = write_diagram(tree)
        tree.write(str(path), xml_declaration=True, encoding="UTF-8")
        with path.open("a", encoding="utf-8") as handle:
            handle.write("\n")
        if args.svg:
            args.svg.mkdir(parents=True, exist_ok=True)
            for layout in layouts:
                (args.svg / f"{path.stem}.svg").write_text(svg_preview(layout, path.stem), encoding="utf-8")
        print(f"{path}: disposizione aggiornata")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
