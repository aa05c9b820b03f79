// The studio's decision-table editor: the dmn-js modeler with Italian labels. Bundled by
// scripts/vendor_static.py into /static/vendor/app/decisions.js; the page script
// (web/static/js/decision-editor.js) calls window.InlavStudio.createDecisionModeler.
import DmnModeler from 'dmn-js/lib/Modeler';

import italian from './dmn/it';

// The engine evaluates every cell as a Python expression: cells are plain text (no FEEL
// editor, whose generated FEEL the engine would not run).
const PYTHON = { options: [{ value: 'python', label: 'Python' }], defaults: { editor: 'python' } };

/** A DMN modeler drawing into `container`, its every view (tables and diagram) in Italian. */
function createDecisionModeler(container) {
  // Each view takes its own modules (the `common` ones would be replaced by the view's).
  const views = ['drd', 'decisionTable', 'literalExpression', 'boxedExpression'];
  const options = { container, common: { expressionLanguages: PYTHON } };
  views.forEach((view) => {
    options[view] = { additionalModules: [italian], expressionLanguages: PYTHON };
  });
  return new DmnModeler(options);
}

window.InlavStudio = Object.assign(window.InlavStudio || {}, { createDecisionModeler });
