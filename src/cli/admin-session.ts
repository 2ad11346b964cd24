/** Opens an admin client for one command and closes it whatever happens. */
import { Admin } from '../client/index.js'
import { clientConfigOf, type ConnectionFlags } from './client-options.js'

export async function withAdmin<T>(flags: ConnectionFlags, work: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = new Admin(clientConfigOf(flags))
  try {
    await admin.connect()
    return await work(admin)
  } finally {
    await admin.close()
  }
}
