/** `onebit models`: lists the model builders. */
import type { Command } from "commander";
import { listBuilders } from "../../nn/builders.js";

export function register(program: Command): void {
  program
    .command("models")
    .description("list the model builders")
    .option("--json", "print JSON", false)
    .action((o: { json: boolean }) => {
      const list = listBuilders();
      if (o.json) {
        process.stdout.write(`${JSON.stringify(list)}\n`);
        return;
      }
      for (const b of list) process.stdout.write(`${b.name.padEnd(10)} ${b.about}\n`);
      process.stdout.write(
        "\nEach has a float twin (--float); --first/--last set the first and last layers\n" +
          "(float, bwn or binary; default float, but bwn for bnn-mlp's first).\n",
      );
    });
}
