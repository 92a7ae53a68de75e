import { describe, expect, it } from 'vitest';
import { FeetechBus, FeetechError } from './bus.js';
import { decodeSignMagnitude, encodeSignMagnitude, STS } from './control-table.js';
import { checksum, INSTR, instructionPacket, parsePacket } from './packet.js';
import { SimulatedServoBus } from './sim-bus.js';

describe('Feetech packets', () => {
  it('builds the documented sync-read of Present_Position from ids 1 and 2', () => {
    const p = instructionPacket(0xfe, INSTR.SYNC_READ, [0x38, 0x02, 0x01, 0x02]);
    // CHK = ~(FE + 06 + 82 + 38 + 02 + 01 + 02) & FF = ~0x1C3 & FF = 0x3C
    expect(Array.from(p)).toEqual([0xff, 0xff, 0xfe, 0x06, 0x82, 0x38, 0x02, 0x01, 0x02, 0x3c]);
  });

  it('builds a ping and parses a status packet, rejecting a bad checksum', () => {
    expect(Array.from(instructionPacket(1, INSTR.PING))).toEqual([0xff, 0xff, 0x01, 0x02, 0x01, 0xfb]);
    const status = Uint8Array.of(0xff, 0xff, 0x01, 0x04, 0x00, 0x09, 0x03, 0);
    status[7] = checksum(status, 2, 7);
    const r = parsePacket(status);
    expect(r.kind).toBe('packet');
    if (r.kind === 'packet') expect(Array.from(r.packet.params)).toEqual([0x09, 0x03]);
    status[7] ^= 1;
    expect(parsePacket(status).kind).toBe('bad-checksum');
    expect(parsePacket(status.subarray(0, 5)).kind).toBe('need-more');
    expect(parsePacket(Uint8Array.of(0x00, 0x12, 0xff, 0xff))).toEqual({ kind: 'garbage', consumed: 2 });
  });

  it('uses sign-magnitude with the register sign bit', () => {
    expect(encodeSignMagnitude(-5, 11)).toBe(0x805);
    expect(decodeSignMagnitude(0x805, 11)).toBe(-5);
    expect(encodeSignMagnitude(-5, 15)).toBe(0x8005);
    expect(() => encodeSignMagnitude(2048, 11)).toThrow(/range/);
  });
});

describe('FeetechBus against a simulated servo bus', () => {
  it('pings, reads the model number, writes and sync-reads/writes positions (little-endian)', async () => {
    const sim = new SimulatedServoBus();
    const bus = new FeetechBus(sim, { timeoutMs: 20 });
    expect(await bus.ping(3)).toBe(true);
    expect(await bus.ping(9)).toBe(false);
    expect(await bus.readRegister(1, 'Model_Number')).toBe(777);
    await bus.writeRegister(2, 'Homing_Offset', -100);
    // Raw bytes in the servo: sign-magnitude bit 11, little-endian.
    expect(sim.servos.get(2)?.mem[STS.Homing_Offset[0]]).toBe(100);
    expect(sim.servos.get(2)?.mem[STS.Homing_Offset[0] + 1]).toBe(0x08);
    expect(await bus.readRegister(2, 'Homing_Offset')).toBe(-100);
    // Present = actual − offset = 2048 + 100.
    expect(await bus.readRegister(2, 'Present_Position')).toBe(2148);
    await bus.syncWriteRegister('Torque_Enable', new Map([1, 2, 3].map((id) => [id, 1])));
    await bus.syncWriteRegister(
      'Goal_Position',
      new Map([
        [1, 1000],
        [2, 3000],
        [3, 2500],
      ]),
    );
    const pos = await bus.syncReadRegister([1, 2, 3], 'Present_Position');
    expect([...pos]).toEqual([
      [1, 1000],
      [2, 3000],
      [3, 2500],
    ]);
    // The instruction bytes on the wire for that sync write.
    const sw = sim.log.find((p) => p[4] === INSTR.SYNC_WRITE && p[5] === 42);
    expect(Array.from(sw?.subarray(5, 5 + 2 + 9) ?? [])).toEqual([
      42, 2, 1, 0xe8, 0x03, 2, 0xb8, 0x0b, 3, 0xc4, 0x09,
    ]);
  });

  it('retries a corrupt reply and succeeds; fails with a checksum error when corruption persists', async () => {
    const sim = new SimulatedServoBus();
    const bus = new FeetechBus(sim, { timeoutMs: 20, retries: 2 });
    sim.corruptReplies = 1;
    expect(await bus.readRegister(1, 'Model_Number')).toBe(777);
    expect(bus.stats.checksumErrors).toBe(1);
    expect(bus.stats.retries).toBe(1);
    sim.corruptReplies = 10;
    await expect(bus.readRegister(1, 'Model_Number')).rejects.toThrow(/bad checksum/);
    sim.corruptReplies = 0;
    sim.noise = [0x00, 0x13, 0xff];
    expect(await bus.readRegister(1, 'Model_Number')).toBe(777);
  });

  it('times out when a servo is silent, also in the middle of a sync read', async () => {
    const sim = new SimulatedServoBus();
    const bus = new FeetechBus(sim, { timeoutMs: 10, retries: 1 });
    sim.silent.add(2);
    const t0 = performance.now();
    const err = await bus.syncRead([1, 2, 3], 56, 2).catch((e) => e);
    expect(err).toBeInstanceOf(FeetechError);
    expect((err as FeetechError).kind).toBe('timeout');
    expect((err as Error).message).toMatch(/servo 2/);
    expect(performance.now() - t0).toBeLessThan(500);
    expect(bus.stats.timeouts).toBe(2);
    // The bus recovers once the servo answers again.
    sim.silent.clear();
    expect((await bus.syncRead([1, 2, 3], 56, 2)).size).toBe(3);
  });

  it('serialises concurrent transactions', async () => {
    const bus = new FeetechBus(new SimulatedServoBus(), { timeoutMs: 20 });
    const r = await Promise.all([1, 2, 3, 4, 5, 6].map((id) => bus.readRegister(id, 'ID')));
    expect(r).toEqual([1, 2, 3, 4, 5, 6]);
  });
});
