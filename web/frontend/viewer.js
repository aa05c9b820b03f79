// The auditor's instance page: the diagram of the exact version an instance ran, drawn by a
// bpmn-js navigated viewer, with the instance's path marked on it. Bundled by
// scripts/vendor_static.py into /static/vendor/app/viewer.js; the page
// (web/templates/audit/story.html) holds the container and the data attributes read here:
// data-diagram-url (the BPMN file), data-process-id (which process of the file to open),
// data-completed / data-current / data-failed (element ids) and data-flows (sequence flow
// ids taken), all space-separated. The markers are CSS classes (web/static/css/app.css); the
// page also lists the path as text, so colour is never the only cue.
import NavigatedViewer from 'bpmn-js/lib/NavigatedViewer';

const MARKERS = [
  ['data-completed', 'app-path-completed'],
  ['data-flows', 'app-path-flow'],
  ['data-current', 'app-path-current'],
  ['data-failed', 'app-path-failed'],
];

function ids(box, attribute) {
  return (box.getAttribute(attribute) || '').split(/\s+/).filter(Boolean);
}

function show(box, text, failed) {
  const status = box.querySelector('[data-diagram-status]');
  if (!status) return;
  status.textContent = text;
  status.classList.toggle('app-diagram-error', !!failed);
}

// A file may hold several processes: open the diagram that draws the one the instance ran.
function diagramFor(viewer, processId) {
  const definitions = viewer.getDefinitions();
  const diagrams = (definitions && definitions.diagrams) || [];
  return diagrams.find((diagram) => {
    const element = diagram.plane && diagram.plane.bpmnElement;
    if (!element) return false;
    if (element.id === processId) return true;
    const participants = element.participants || [];
    return participants.some((p) => p.processRef && p.processRef.id === processId);
  });
}

async function draw(box) {
  const canvasBox = box.querySelector('[data-diagram-canvas]');
  const viewer = new NavigatedViewer({ container: canvasBox });
  try {
    const response = await fetch(box.getAttribute('data-diagram-url'), {
      credentials: 'same-origin',
      headers: { Accept: 'text/plain' },
    });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    await viewer.importXML(await response.text());
    const wanted = diagramFor(viewer, box.getAttribute('data-process-id'));
    const first = (viewer.getDefinitions().diagrams || [])[0];
    if (wanted && wanted !== first) await viewer.open(wanted);
    const canvas = viewer.get('canvas');
    const registry = viewer.get('elementRegistry');
    let marked = 0;
    MARKERS.forEach(([attribute, marker]) => {
      ids(box, attribute).forEach((id) => {
        if (registry.get(id)) {
          canvas.addMarker(id, marker);
          marked += 1;
        }
      });
    });
    canvas.zoom('fit-viewport', 'auto');
    box.setAttribute('data-diagram-ready', 'true');
    box.setAttribute('data-markers', String(marked));
    show(box, box.getAttribute('data-text-ready'), false);
  } catch (error) {
    box.setAttribute('data-diagram-ready', 'error');
    box.setAttribute('data-diagram-problem', String((error && error.message) || error));
    show(box, box.getAttribute('data-text-error'), true);
  }
}

function start() {
  document.querySelectorAll('[data-story-diagram]').forEach(draw);
}

if (document.readyState === 'loading') {
  document.addEventListener('DOMContentLoaded', start);
} else {
  start();
}
