/**
 * Preact's core has no `memo` (it lives in `preact/compat`, which brings
 * React's whole API along): {@link pure} is the small part the page needs.
 *
 * @module
 */

import { Component, type ComponentType, type FunctionComponent, h } from "preact";

/** True when `a` and `b` have the same keys with identical values. */
function shallowEqual(a: object, b: object): boolean {
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  const keys = Object.keys(x);
  if (keys.length !== Object.keys(y).length) return false;
  return keys.every((key) => Object.is(x[key], y[key]));
}

/**
 * `component`, rendered again only when one of its props changes (compared
 * by identity). With 176 nodes and an event per stage start and end, this
 * is what keeps a wave cheap to show.
 */
export function pure<P extends object>(component: FunctionComponent<P>): ComponentType<P> {
  return class Pure extends Component<P> {
    override shouldComponentUpdate(next: Readonly<P>): boolean {
      return !shallowEqual(this.props, next);
    }

    override render() {
      return h(component, this.props);
    }
  };
}
