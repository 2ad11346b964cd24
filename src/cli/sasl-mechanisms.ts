/** The SASL mechanisms the CLI's flags accept (those baton's client and broker both speak). */
import type { SaslMechanismName } from '../client/index.js'

export const SASL_MECHANISMS = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] as const satisfies readonly SaslMechanismName[]
