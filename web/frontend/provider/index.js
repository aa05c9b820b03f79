// The platform's properties provider for the studio's diagram editor (a diagram-js module).
import InlavPropertiesProvider, { PLATFORM_GROUPS } from './InlavPropertiesProvider';

export { PLATFORM_GROUPS };

export default {
  __init__: ['inlavPropertiesProvider'],
  inlavPropertiesProvider: ['type', InlavPropertiesProvider],
};
