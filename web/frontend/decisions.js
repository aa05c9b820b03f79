// The studio's decision-table editor: the dmn-js modeler with Italian labels. Bundled by
// scripts/vendor_static.py into /static/vendor/app/decisions.js; the page script
// (web/static/js/decision-editor.js) calls window.InlavStudio.createDecisionModeler.
import DmnModeler from 'dmn-js/lib/Modeler';

import italian from './dmn/it';

/** A DMN modeler drawing into `container`, its every view (tables and diagram) in Italian. */
function createDecisionModeler(container) {
  return new DmnModeler({
    container,
    common: { additionalModules: [italian] },
  });
}

window.InlavStudio = Object.assign(window.InlavStudio || {}, { createDecisionModeler });
