// The studio's diagram editor: the bpmn-js modeler with the properties panel, knowing the
// spiffworkflow extension elements the engine executes. Bundled by scripts/vendor_static.py
// into /static/vendor/app/editor.js; the page script (web/static/js/diagram-editor.js)
// calls window.InlavStudio.createModeler.
import Modeler from 'bpmn-js/lib/Modeler';
import {
  BpmnPropertiesPanelModule,
  BpmnPropertiesProviderModule,
} from 'bpmn-js-properties-panel';

import spiffworkflow from './moddle/spiffworkflow.json';

/**
 * A modeler drawing into `container`, with its properties panel in `panel`.
 * `modules` are extra diagram-js modules (translation, the platform's properties provider).
 */
function createModeler(container, panel, modules = []) {
  return new Modeler({
    container,
    propertiesPanel: { parent: panel },
    additionalModules: [BpmnPropertiesPanelModule, BpmnPropertiesProviderModule, ...modules],
    moddleExtensions: { spiffworkflow },
  });
}

window.InlavStudio = Object.assign(window.InlavStudio || {}, { createModeler });
