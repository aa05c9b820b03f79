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
import InlavPropertiesProviderModule, { PLATFORM_GROUPS } from './provider';

/**
 * A modeler drawing into `container`, with its properties panel in `panel`.
 * `modules` are extra diagram-js modules (e.g. the Italian translation). With `config`
 * ({choices, urls: {timer, preview, forms}, csrf, text}) the panel also shows the
 * platform's groups (lane role, form, instructions, scripts, conditions, timers, messages,
 * called processes, decisions).
 */
function createModeler(container, panel, modules = [], config = null) {
  const platform = config ? [InlavPropertiesProviderModule, { inlavConfig: ['value', config] }] : [];
  // the platform's groups and the general one start open (the panel remembers what one closes)
  const groups = Object.fromEntries(['general', ...PLATFORM_GROUPS].map((id) => [id, { open: true }]));
  return new Modeler({
    container,
    propertiesPanel: { parent: panel, layout: { groups } },
    additionalModules: [BpmnPropertiesPanelModule, BpmnPropertiesProviderModule, ...platform, ...modules],
    moddleExtensions: { spiffworkflow },
  });
}

window.InlavStudio = Object.assign(window.InlavStudio || {}, { createModeler });
