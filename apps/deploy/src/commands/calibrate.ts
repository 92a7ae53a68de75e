/** `anchor-refine-deploy calibrate`: LeRobot's SO-101 calibration procedure and file format. */
import { createInterface } from 'node:readline';
import { FeetechBus } from '../robot/feetech/bus.js';
import { openSerialTransport } from '../robot/feetech/transport.js';
import { calibrateSo101 } from '../robot/so101/calibrate.js';
import { calibrationPath, saveCalibration } from '../robot/so101/calibration.js';

export async function calibrate(o: { port: string; robotId: string; robotName: string }): Promise<void> {
  const bus = new FeetechBus(await openSerialTransport(o.port));
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    const cal = await calibrateSo101(bus, {
      waitForUser: (msg) => new Promise((resolve) => rl.question(`${msg} `, () => resolve())),
      log: (l) => console.log(l),
    });
    const path = calibrationPath(o.robotId, o.robotName);
    await saveCalibration(path, cal);
    console.log(`saved ${path}`);
  } finally {
    rl.close();
    await bus.close();
  }
}
