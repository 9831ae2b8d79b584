// The lineage graph on a Cytoscape canvas: ELK positions, node shapes by kind, the focus, "+"
// marks, dimmed deleted nodes, dotted stale ones, a highlighted path. Tap selects; double-tap expands or collapses.

import cytoscape, { type Core, type ElementDefinition, type StylesheetJson } from "cytoscape";
import { useEffect, useRef } from "react";
import { cssVar } from "../components/Theme";
import { shortName } from "../util/format";
import { layeredPositions, warmUpLayout } from "./layout";
import { edgeKey, type View } from "./model";

export interface GraphViewProps {
  view: View;
  selected: string | null;
  path: string[];
  pathEdges: Set<string>;
  theme: string;
  onSelect: (id: string | null, extend: boolean) => void;
  onToggle: (id: string) => void;
}

const CHAR = 7.6;
const HEIGHT = 44;

function label(node: View["nodes"][number]): string {
  const kind = typeof node.caption === "string" ? shortName(node.caption) : node.type;
  const second = node.stale && !node.deleted ? `${kind} · stale` : kind;
  return `${shortName(node.name)}${node.more ? "  +" : node.expanded ? "  −" : ""}\n${second}`;
}

function style(): StylesheetJson {
  const text = cssVar("--text") || "#222";
  const surface = cssVar("--surface") || "#fff";
  const accent = cssVar("--accent") || "#1f6feb";
  return [
    {
      selector: "node",
      style: {
        shape: "round-rectangle",
        width: "data(width)",
        height: HEIGHT,
        "background-color": surface,
        "border-width": 2,
        "border-color": cssVar("--dataset") || "#2f81f7",
        label: "data(label)",
        "text-wrap": "wrap",
        "text-valign": "center",
        "text-halign": "center",
        "font-size": 13,
        "min-zoomed-font-size": 6, // labels too small to read are not drawn (large graphs draw faster)
        "line-height": 1.3,
        color: text,
      },
    },
    { selector: 'node[type = "job"]', style: { shape: "rectangle", "border-color": cssVar("--job") || "#d29922" } },
    {
      selector: 'node[type = "model"]',
      style: { shape: "cut-rectangle", "border-color": cssVar("--model") || "#a371f7", "border-width": 3 },
    },
    { selector: 'node[type = "column"]', style: { "border-width": 1.5, "font-size": 12 } },
    { selector: "node[?focus]", style: { "border-width": 4, "background-color": cssVar("--focus-bg") || "#ddf4ff" } },
    {
      selector: "node[?stale]",
      style: { opacity: 0.75, "border-style": "dotted", "background-color": cssVar("--stale-bg") || "#f1ede4" },
    },
    { selector: "node[?deleted]", style: { opacity: 0.45, "border-style": "dashed" } },
    { selector: "node[?more]", style: { "font-weight": "bold" } },
    { selector: "node:selected", style: { "overlay-color": accent, "overlay-opacity": 0.18, "overlay-padding": 6 } },
    { selector: "node.on-path", style: { "border-color": cssVar("--path") || "#e5534b", "border-width": 4 } },
    {
      selector: "edge",
      style: {
        width: 1.5,
        "curve-style": "bezier",
        "target-arrow-shape": "triangle",
        "line-color": cssVar("--edge") || "#8b949e",
        "target-arrow-color": cssVar("--edge") || "#8b949e",
      },
    },
    // straight edges draw much faster than curves: large answers use them
    { selector: "edge.fast", style: { "curve-style": "straight" } },
    {
      selector: "edge[label]",
      style: {
        label: "data(label)",
        "font-size": 10,
        color: text,
        "text-rotation": "autorotate",
        "text-background-color": surface,
        "text-background-opacity": 0.9,
        "text-background-padding": "2px",
      },
    },
    { selector: 'edge[type = "INFLUENCES"]', style: { "line-style": "dashed" } },
    { selector: 'edge[type = "ALIAS_OF"]', style: { "line-style": "dotted", "target-arrow-shape": "none" } },
    { selector: "edge.on-path", style: { width: 3.5, "line-color": cssVar("--path") || "#e5534b", "target-arrow-color": cssVar("--path") || "#e5534b" } },
  ];
}

const FAST_EDGES = 500;

async function elements(view: View): Promise<ElementDefinition[]> {
  const boxes = view.nodes.map((node) => ({
    id: node.id,
    width: Math.max(90, Math.max(shortName(node.name).length + 3, label(node).split("\n")[1]?.length ?? 0) * CHAR + 24),
    height: HEIGHT,
  }));
  const width = new Map(boxes.map((b) => [b.id, b.width]));
  const links = view.edges.map((e) => ({ id: edgeKey(e), source: e.source, target: e.target }));
  performance.mark("olgraph:layout-start");
  // labelled edges (column mode's transformations) need room between the layers
  const labelled = view.edges.some((e) => typeof e.label === "string" && e.label);
  const positions = await layeredPositions(boxes, links, labelled ? 170 : 48);
  performance.mark("olgraph:layout-end");
  return [
    ...view.nodes.map((node) => ({
      group: "nodes" as const,
      data: {
        id: node.id,
        type: node.type,
        label: label(node),
        width: width.get(node.id),
        focus: node.focus,
        deleted: node.deleted,
        stale: Boolean(node.stale) && !node.deleted,
        more: node.more,
      },
      position: positions.get(node.id) ?? { x: 0, y: 0 },
    })),
    ...view.edges.map((edge) => ({
      group: "edges" as const,
      data: {
        id: edgeKey(edge),
        source: edge.source,
        target: edge.target,
        type: edge.type,
        ...(typeof edge.label === "string" && edge.label ? { label: edge.label } : {}),
      },
      classes: view.edges.length > FAST_EDGES ? "fast" : "",
    })),
  ];
}

/** Selection and path highlight, on whatever elements are on the canvas now. */
function applyMarks(instance: Core, props: GraphViewProps): void {
  instance.batch(() => {
    instance.elements().unselect().removeClass("on-path");
    if (props.selected) instance.getElementById(props.selected).select();
    for (const id of props.path) instance.getElementById(id).addClass("on-path");
    for (const key of props.pathEdges) instance.getElementById(key).addClass("on-path");
  });
}

export function GraphView(props: GraphViewProps) {
  warmUpLayout();
  const container = useRef<HTMLDivElement>(null);
  const cy = useRef<Core | null>(null);
  const handlers = useRef(props);
  handlers.current = props;

  useEffect(() => {
    const instance = cytoscape({
      container: container.current,
      layout: { name: "preset" },
      style: style(),
      minZoom: 0.05,
      maxZoom: 3,
      boxSelectionEnabled: false,
      hideEdgesOnViewport: true, // pan and zoom stay smooth on large answers
      textureOnViewport: true,
      selectionType: "single",
      pixelRatio: 1,
    });
    instance.on("tap", "node", (event) => {
      const shift = Boolean((event.originalEvent as MouseEvent | undefined)?.shiftKey);
      handlers.current.onSelect(event.target.id() as string, shift);
    });
    instance.on("tap", (event) => {
      if (event.target === instance) handlers.current.onSelect(null, false);
    });
    instance.on("dbltap", "node", (event) => handlers.current.onToggle(event.target.id() as string));
    cy.current = instance;
    return () => {
      instance.destroy();
      cy.current = null;
    };
  }, []);

  useEffect(() => {
    let cancelled = false;
    const element = container.current;
    if (element) element.dataset.rendering = "true";
    performance.mark("olgraph:graph-start");
    elements(props.view).then((definitions) => {
      const instance = cy.current;
      if (cancelled || !instance || !element) return;
      instance.batch(() => {
        instance.elements().remove();
        instance.add(definitions);
      });
      instance.fit(undefined, 30);
      // small graphs are not blown up; large ones stay readable around the focus
      if (instance.zoom() > 1.2) {
        instance.zoom(1.2);
        instance.center();
      } else if (instance.zoom() < 0.35) {
        instance.zoom(0.35);
        instance.center(instance.$("node[?focus]"));
      }
      applyMarks(instance, handlers.current);
      // Cytoscape paints on its next animation frame: "rendered" is after that frame
      requestAnimationFrame(() => {
        if (cancelled) return;
        element.dataset.rendering = "false";
        element.dataset.nodes = String(instance.nodes().length);
        element.dataset.edges = String(instance.edges().length);
        // what is drawn as stale (the style's own selector), for tests and tools
        element.dataset.staleNodes = JSON.stringify(instance.nodes("[?stale]").map((n) => n.id()));
        performance.mark("olgraph:graph-rendered", { detail: { nodes: instance.nodes().length } });
      });
    });
    return () => {
      cancelled = true;
    };
  }, [props.view]);

  useEffect(() => {
    const instance = cy.current;
    if (!instance) return;
    instance.style(style());
  }, [props.theme]);

  useEffect(() => {
    if (cy.current) applyMarks(cy.current, props);
  });

  return <div ref={container} className="graph-canvas" data-testid="graph" aria-label="lineage graph" role="img" />;
}
